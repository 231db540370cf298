package io.portcullis.policy;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** The port, sni and alpn conditions, and that all conditions of a rule must hold. */
class MatchesTest {

    private static ListenerPolicy listener(String rules) throws PolicyException {
        return Policy.parse("listeners:\n  demo:\n    rules:\n" + rules + "    default: reject\n", "rules.yaml")
                .listener("demo").orElseThrow();
    }

    private static String rule(InspectRequest request, ListenerPolicy policy) {
        return policy.evaluate(request).rule();
    }

    @ParameterizedTest
    @CsvSource({
            "5432, db",
            "8000, db",
            "8050, db",
            "8100, db",
            "7999, default",
            "8101, default",
            "5433, default",
            "1,    low",
    })
    void portMatchesListedPortsAndRanges(int port, String expected) throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: db
                        port: [5432, "8000-8100"]
                        action: accept
                      - name: low
                        port: ["1-2"]
                        action: accept
                """);

        assertThat(rule(Requests.to("demo", "192.0.2.1", 40000, port), policy)).isEqualTo(expected);
    }

    @Test
    void allPortsIsACatchAll() {
        assertThat(Errors.errorsOf("""
                listeners:
                  demo:
                    rules:
                      - name: any-port
                        port: ["1-65535"]
                        action: accept
                      - name: later
                        action: reject
                    default: reject
                """)).containsExactly(
                "rules.yaml:7:9: rule 'later' can never match: rule 'any-port' at line 4 matches every connection first");
    }

    @ParameterizedTest
    @CsvSource({
            "db.example.com,      exact",
            "DB.Example.COM,      exact",    // case does not matter
            "a.example.com,       wildcard",
            "a.b.example.com,     wildcard", // any depth below the suffix
            "A.EXAMPLE.COM,       wildcard",
            "example.com,         default",  // the wildcard does not cover the name itself
            "badexample.com,      default",
            "example.com.evil.io, default",
            "db.example.org,      default",
    })
    void sniMatchesExactNamesAndWildcards(String sni, String expected) throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: exact
                        sni: [db.example.com]
                        action: accept
                      - name: wildcard
                        sni: ["*.example.com"]
                        action: pend
                """);

        assertThat(rule(Requests.tls("demo", "192.0.2.1", sni), policy)).isEqualTo(expected);
    }

    @Test
    void sniNoneMatchesConnectionsWithoutAServerName() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: named
                        sni: [db.example.com]
                        action: accept
                      - name: plain
                        sni: [none]
                        action: reject
                      - name: other-names
                        sni: [NONE, "*.example.org"]
                        action: pend
                """);

        assertThat(rule(Requests.tls("demo", "192.0.2.1", null), policy)).isEqualTo("plain");
        assertThat(rule(Requests.from("demo", "192.0.2.1"), policy)).as("nothing peeked").isEqualTo("plain");
        assertThat(rule(Requests.tls("demo", "192.0.2.1", "db.example.com"), policy)).isEqualTo("named");
        assertThat(rule(Requests.tls("demo", "192.0.2.1", "x.example.org"), policy)).isEqualTo("other-names");
        assertThat(rule(Requests.tls("demo", "192.0.2.1", "x.example.net"), policy)).isEqualTo("default");
    }

    @Test
    void alpnMatchesWhenAnyOfferedProtocolIsListed() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: http2
                        alpn: [h2]
                        action: accept
                      - name: postgres
                        alpn: [postgresql, "http/1.1"]
                        action: pend
                      - name: no-alpn
                        alpn: [none]
                        action: reject
                """);

        assertThat(rule(Requests.tls("demo", "192.0.2.1", "a", "http/1.1", "h2"), policy)).isEqualTo("http2");
        assertThat(rule(Requests.tls("demo", "192.0.2.1", "a", "http/1.1"), policy)).isEqualTo("postgres");
        assertThat(rule(Requests.tls("demo", "192.0.2.1", "a", "H2"), policy)).as("ids are case-sensitive")
                .isEqualTo("default");
        assertThat(rule(Requests.tls("demo", "192.0.2.1", "a"), policy)).isEqualTo("no-alpn");
        assertThat(rule(Requests.tls("demo", "192.0.2.1", "a", "spdy/3"), policy)).isEqualTo("default");
    }

    @Test
    void everyConditionOfARuleMustHold() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: all
                        source: [10.0.0.0/8]
                        port: [443]
                        sni: ["*.example.com"]
                        alpn: [h2]
                        action: accept
                """);
        InspectRequest match = Requests.to("demo", "10.1.1.1", 40000, 443)
                .withTls(java.util.Optional.of("a.example.com"), java.util.List.of("h2"));

        assertThat(policy.evaluate(match)).isEqualTo(new Verdict(InspectAction.ACCEPT, "all"));
        assertThat(rule(Requests.to("demo", "11.1.1.1", 40000, 443)
                .withTls(java.util.Optional.of("a.example.com"), java.util.List.of("h2")), policy)).isEqualTo("default");
        assertThat(rule(Requests.to("demo", "10.1.1.1", 40000, 444)
                .withTls(java.util.Optional.of("a.example.com"), java.util.List.of("h2")), policy)).isEqualTo("default");
        assertThat(rule(Requests.to("demo", "10.1.1.1", 40000, 443)
                .withTls(java.util.Optional.of("a.example.net"), java.util.List.of("h2")), policy)).isEqualTo("default");
        assertThat(rule(Requests.to("demo", "10.1.1.1", 40000, 443)
                .withTls(java.util.Optional.of("a.example.com"), java.util.List.of("http/1.1")), policy))
                .isEqualTo("default");
    }

    @Test
    void onlySniAndAlpnNeedATlsPeek() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: plain
                        source: [10.0.0.0/8]
                        port: [443]
                        time: { from: "08:00", to: "18:00" }
                        action: accept
                      - name: by-name
                        sni: [none]
                        action: accept
                      - name: by-protocol
                        source: [10.0.0.0/8]
                        alpn: [h2]
                        action: reject
                        mode: shadow
                """);

        assertThat(policy.rules()).extracting(rule -> rule.needsTlsPeek()).containsExactly(false, true, true);
        assertThat(policy.rules().get(2).matches()).extracting(match -> match.key() + "=" + match.needsTlsPeek())
                .containsExactly("source=false", "alpn=true");
    }
}
