package io.portcullis.gateway.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Credentials of a decision service: sent as configured, never part of the address, never shown. */
class DecisionServiceSettingsTest {

    private static DecisionServiceSettings settings(String url, Map<String, String> headers) {
        return new DecisionServiceSettings("authz", DecisionType.HTTP, URI.create(url), Duration.ofMillis(300),
                OnFailure.REJECT, Optional.empty(), 8, headers);
    }

    private static String basic(String userInfo) {
        return "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aUserInTheUrlBecomesBasicAuthenticationAndLeavesTheAddress() {
        DecisionServiceSettings s = settings("http://gw:pa%40ss%3Aw%C3%B6rd@127.0.0.1:8181/v1/decide?x=a%20b", Map.of());
        assertThat(s.endpoint()).hasToString("http://127.0.0.1:8181/v1/decide?x=a%20b");
        assertThat(s.requestHeaders()).containsExactly(Map.entry("Authorization", basic("gw:pa@ss:wörd")));
        assertThat(s.toString()).doesNotContain("pa").doesNotContain("x=a").contains("basic auth");
    }

    @Test
    void anIpv6HostKeepsItsBracketsAndAUserWithoutPasswordIsSent() {
        DecisionServiceSettings s = settings("https://only-user@[::1]/decide", Map.of());
        assertThat(s.endpoint()).hasToString("https://[::1]/decide");
        assertThat(s.requestHeaders()).containsEntry("Authorization", basic("only-user"));
    }

    @Test
    void withoutUserInfoTheUrlIsUsedAsItIs() {
        DecisionServiceSettings s = settings("http://authz:8181", Map.of("X-Api-Key", "k-123"));
        assertThat(s.endpoint()).hasToString("http://authz:8181");
        assertThat(s.requestHeaders()).containsExactly(Map.entry("X-Api-Key", "k-123"));
        assertThat(s.toString()).contains("X-Api-Key").doesNotContain("k-123");
    }

    @Test
    void hostileHeadersAreRefusedWithoutShowingTheirValues() {
        Map<String, String> tooMany = new HashMap<>();
        for (int i = 0; i <= DecisionServiceSettings.MAX_HEADERS; i++) {
            tooMany.put("X-H" + i, "v");
        }
        Object[][] cases = {
            {Map.of("X-Key", "secret\r\nX-Injected: 1"), "visible ASCII"},
            {Map.of("X-Key", "secret\n"), "visible ASCII"},
            {Map.of("X-Key", "s\u00e9cret"), "visible ASCII"},
            {Map.of("X-Key", "  "), "visible ASCII"},
            {Map.of("X-Key", "x".repeat(DecisionServiceSettings.MAX_HEADER_VALUE + 1)), "visible ASCII"},
            {Map.of("X-Key", "Bearer ${AUTHZ_TOKEN}"), "placeholder is unset"},
            {Map.of("X Key", "secret"), "not a header name"},
            {Map.of("X-Key:", "secret"), "not a header name"},
            {Map.of("", "secret"), "not a header name"},
            {Map.of("Host", "secret"), "set by the gateway"},
            {Map.of("content-length", "secret"), "set by the gateway"},
            {Map.of("Transfer-Encoding", "secret"), "set by the gateway"},
            {tooMany, "at most"},
        };
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked")
            Map<String, String> headers = (Map<String, String>) c[0];
            assertThatThrownBy(() -> settings("http://authz/decide", headers)).as("%s", headers.keySet())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining((String) c[1])
                    .message().doesNotContain("secret").doesNotContain("AUTHZ_TOKEN");
        }
    }

    @Test
    void anAuthorizationHeaderAndAUserInTheUrlAreOneTooMany() {
        assertThatThrownBy(() -> settings("http://u:secret@authz/decide", Map.of("authorization", "Bearer secret")))
                .hasMessageContaining("not both").message().doesNotContain("secret");
    }

    @Test
    void aBadUrlIsRefusedWithoutShowingIt() {
        assertThatThrownBy(() -> settings("ftp://u:secret@authz/decide", Map.of()))
                .hasMessageContaining("http:// or https://").message().doesNotContain("secret");
    }
}
