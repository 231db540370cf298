package io.portcullis.gateway.decision;

import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.ProxyHeader;
import io.portcullis.core.TlsHello;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The wire format: the request object, and every way an answer can be right or wrong. */
class DecisionJsonTest {

    private static Decision http(String json) {
        return DecisionJson.parse(DecisionType.HTTP, json.getBytes(StandardCharsets.UTF_8));
    }

    private static Decision opa(String json) {
        return DecisionJson.parse(DecisionType.OPA, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void httpAnswers() {
        assertThat(http("{\"action\":\"accept\"}"))
                .isEqualTo(new Decision(InspectAction.ACCEPT, Optional.empty(), Optional.empty()));
        assertThat(http("{\"action\":\"reject\",\"reason\":\"blocked\",\"ttl\":\"30s\"}"))
                .isEqualTo(new Decision(InspectAction.REJECT, Optional.of("blocked"), Optional.of(Duration.ofSeconds(30))));
        assertThat(http("{\"action\":\"accept\",\"ttl\":\"250ms\",\"extra\":[1,2]}").ttl()).contains(Duration.ofMillis(250));
        assertThat(http("{\"action\":\"accept\",\"ttl\":\"5m\"}").ttl()).contains(Duration.ofMinutes(5));
        assertThat(http("{\"action\":\"accept\",\"ttl\":\"0s\"}").ttl()).contains(Duration.ZERO);
        assertThat(http("{\"action\":\"accept\",\"reason\":null,\"ttl\":null}").reason()).isEmpty();
        assertThat(http("{\"action\":\"accept\",\"reason\":\"  \"}").reason()).isEmpty();
    }

    @Test
    void aLongReasonIsCut() {
        Decision d = http("{\"action\":\"accept\",\"reason\":\"" + "r".repeat(1000) + "\"}");
        assertThat(d.reason().orElseThrow()).hasSize(DecisionJson.MAX_REASON_CHARS);
    }

    @Test
    void malformedJsonIsRefused() {
        assertThatThrownBy(() -> http("{\"action\": accept")).isInstanceOf(MalformedAnswerException.class)
                .hasMessageStartingWith("answer is not JSON");
        assertThatThrownBy(() -> http("")).isInstanceOf(MalformedAnswerException.class).hasMessage("answer is empty");
        assertThatThrownBy(() -> http("[\"accept\"]")).isInstanceOf(MalformedAnswerException.class)
                .hasMessage("answer is not a JSON object");
        assertThatThrownBy(() -> http("{\"action\":\"accept\"} trailing")).isInstanceOf(MalformedAnswerException.class);
        assertThatThrownBy(() -> http("<html>502 Bad Gateway</html>")).isInstanceOf(MalformedAnswerException.class);
    }

    @Test
    void aMissingOrUnknownActionIsRefused() {
        assertThatThrownBy(() -> http("{\"reason\":\"no action\"}")).isInstanceOf(MalformedAnswerException.class)
                .hasMessageContaining("no \"action\"");
        assertThatThrownBy(() -> http("{\"action\":null}")).hasMessageContaining("no \"action\"");
        assertThatThrownBy(() -> http("{\"action\":true}")).hasMessageContaining("not a string");
        assertThatThrownBy(() -> http("{\"action\":\"pend\"}")).hasMessageContaining("unknown action 'pend'");
        assertThatThrownBy(() -> http("{\"action\":\"ACCEPT\"}")).hasMessageContaining("unknown action 'ACCEPT'");
        assertThatThrownBy(() -> http("{\"action\":\"accept\",\"reason\":42}")).hasMessageContaining("\"reason\" is not a string");
    }

    @Test
    void aBadTtlIsRefused() {
        assertThatThrownBy(() -> http("{\"action\":\"accept\",\"ttl\":30}")).isInstanceOf(MalformedAnswerException.class)
                .hasMessageContaining("\"ttl\" is not a string");
        assertThatThrownBy(() -> http("{\"action\":\"accept\",\"ttl\":\"30\"}")).hasMessageContaining("bad ttl '30'");
        assertThatThrownBy(() -> http("{\"action\":\"accept\",\"ttl\":\"-5s\"}")).hasMessageContaining("bad ttl");
        assertThatThrownBy(() -> http("{\"action\":\"accept\",\"ttl\":\"PT30S\"}")).hasMessageContaining("bad ttl");
        assertThatThrownBy(() -> http("{\"action\":\"accept\",\"ttl\":\"25h\"}")).hasMessageContaining("at most 24h");
    }

    @Test
    void opaAnswersInBothShapes() {
        assertThat(opa("{\"result\":true}").action()).isEqualTo(InspectAction.ACCEPT);
        assertThat(opa("{\"result\":false}").action()).isEqualTo(InspectAction.REJECT);
        assertThat(opa("{\"result\":{\"allow\":true,\"reason\":\"in group\"}}"))
                .isEqualTo(new Decision(InspectAction.ACCEPT, Optional.of("in group"), Optional.empty()));
        assertThat(opa("{\"result\":{\"allow\":false}}").action()).isEqualTo(InspectAction.REJECT);
        assertThat(opa("{\"decision_id\":\"x\",\"result\":true}").action()).isEqualTo(InspectAction.ACCEPT);
    }

    @Test
    void opaNonsenseIsRefused() {
        assertThatThrownBy(() -> opa("{}")).isInstanceOf(MalformedAnswerException.class).hasMessageContaining("no \"result\"");
        assertThatThrownBy(() -> opa("{\"result\":\"yes\"}")).hasMessageContaining("neither a boolean nor an object");
        assertThatThrownBy(() -> opa("{\"result\":{\"allowed\":true}}")).hasMessageContaining("no boolean \"allow\"");
        assertThatThrownBy(() -> opa("{\"result\":{\"allow\":\"true\"}}")).hasMessageContaining("no boolean \"allow\"");
        assertThatThrownBy(() -> opa("{\"action\":\"accept\"}")).hasMessageContaining("no \"result\"");
    }

    @Test
    void theRequestCarriesTheContractFieldsAndOpaWrapsItAsInput() {
        InspectRequest request = new InspectRequest(new InspectId(42), "db",
                new InetSocketAddress("192.0.2.7", 50123), new InetSocketAddress("10.0.0.1", 5432),
                new InetSocketAddress("127.0.0.9", 40001), Instant.parse("2025-01-02T03:04:05Z"),
                Optional.of(new ProxyHeader(2, false, List.of(new ProxyHeader.ProxyTlv(0x02, "lb.example.com"),
                        new ProxyHeader.ProxyTlv(0xEA, "vpce-0123")))),
                Optional.of(new TlsHello(Optional.of("db.example.com"), List.of("h2", "postgresql"),
                        List.of("TLSv1.3", "TLSv1.2"), "t13d1516h2_8daaf6152771_e5627efa2ab1")));
        JsonMapper json = JsonMapper.builder().build();

        JsonNode http = json.readTree(DecisionJson.request(DecisionType.HTTP, request, "ask-authz"));
        assertThat(http.get("id").asString()).isEqualTo("42");
        assertThat(http.get("listener").asString()).isEqualTo("db");
        assertThat(http.get("source").get("ip").asString()).isEqualTo("192.0.2.7");
        assertThat(http.get("source").get("port").asInt()).isEqualTo(50123);
        assertThat(http.get("destination").get("ip").asString()).isEqualTo("10.0.0.1");
        assertThat(http.get("destination").get("port").asInt()).isEqualTo(5432);
        assertThat(http.get("sni").asString()).isEqualTo("db.example.com");
        assertThat(http.get("alpn").get(1).asString()).isEqualTo("postgresql");
        assertThat(http.get("rule").asString()).isEqualTo("ask-authz");
        assertThat(http.get("receivedAt").asString()).isEqualTo("2025-01-02T03:04:05Z");
        assertThat(http.get("peer").get("ip").asString()).isEqualTo("127.0.0.9");
        assertThat(http.get("peer").get("port").asInt()).isEqualTo(40001);
        JsonNode proxy = http.get("proxy");
        assertThat(proxy.get("version").asInt()).isEqualTo(2);
        assertThat(proxy.get("local").asBoolean()).isFalse();
        assertThat(proxy.get("authority").asString()).isEqualTo("lb.example.com");
        assertThat(proxy.get("tlvs").get(1).get("type").asInt()).isEqualTo(0xEA);
        assertThat(proxy.get("tlvs").get(1).get("value").asString()).isEqualTo("vpce-0123");
        assertThat(http.get("tls").get("versions").get(0).asString()).isEqualTo("TLSv1.3");
        assertThat(http.get("tls").get("ja4").asString()).isEqualTo("t13d1516h2_8daaf6152771_e5627efa2ab1");

        JsonNode opa = json.readTree(DecisionJson.request(DecisionType.OPA, request, "ask-authz"));
        assertThat(opa.propertyNames()).containsExactly("input");
        assertThat(opa.get("input")).isEqualTo(http);
    }

    @Test
    void withNothingPeekedTheRequestSaysSoAndThePeerIsTheSource() {
        InspectRequest request = InspectRequest.of(new InspectId(7), "db", new InetSocketAddress("192.0.2.7", 50123),
                new InetSocketAddress("10.0.0.1", 5432), Instant.parse("2025-01-02T03:04:05Z"));
        JsonNode http = JsonMapper.builder().build().readTree(DecisionJson.request(DecisionType.HTTP, request, "r"));
        assertThat(http.get("peer")).isEqualTo(http.get("source"));
        assertThat(http.get("proxy").isNull()).isTrue();
        assertThat(http.get("tls").isNull()).isTrue();
        assertThat(http.get("sni").isNull()).isTrue();
    }
}
