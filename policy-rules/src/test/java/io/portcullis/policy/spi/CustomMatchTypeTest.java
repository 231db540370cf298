package io.portcullis.policy.spi;

import io.portcullis.policy.Errors;
import io.portcullis.policy.ListenerPolicy;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.PolicyOptions;
import io.portcullis.policy.Requests;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.MatchType;
import io.portcullis.policy.rule.MatchValue;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A custom condition found through the service loader ({@code META-INF/services} in the test resources). */
class CustomMatchTypeTest {

    private static final String RULES = """
            listeners:
              rsh:
                rules:
                  - name: privileged-clients
                    source: [10.0.0.0/8]
                    source-port: ["1-1023", 2049]
                    action: accept
                default: reject
            """;

    @Test
    void aRulesFileUsesTheCustomConditionLikeABuiltInOne() throws PolicyException {
        ListenerPolicy rsh = Policy.parse(RULES, "rules.yaml").listener("rsh").orElseThrow();

        assertThat(rsh.evaluate(Requests.to("rsh", "10.0.0.1", 1023, 514)).rule()).isEqualTo("privileged-clients");
        assertThat(rsh.evaluate(Requests.to("rsh", "10.0.0.1", 2049, 514)).rule()).isEqualTo("privileged-clients");
        assertThat(rsh.evaluate(Requests.to("rsh", "10.0.0.1", 40000, 514)).rule()).isEqualTo("default");
        assertThat(rsh.evaluate(Requests.to("rsh", "11.0.0.1", 1000, 514)).rule()).as("all conditions hold")
                .isEqualTo("default");
        assertThat(rsh.rules().get(0).matches()).extracting(Match::key).containsExactly("source", "source-port");
    }

    @Test
    void itsErrorsCarryTheirPosition() {
        assertThat(Errors.errorsOf(RULES.replace("2049", "abc"))).containsExactly(
                "rules.yaml:6:33: bad source port 'abc' (expected a port or a range like 1-1023)");
        assertThat(Errors.errorsOf(RULES.replace("[\"1-1023\", 2049]", "1-1023"))).containsExactly(
                "rules.yaml:6:22: expected a list, got a string");
    }

    @Test
    void itsKeyIsKnownToSuggestions() {
        assertThat(Errors.errorsOf(RULES.replace("source-port:", "sourceport:"))).containsExactly(
                "rules.yaml:6:9: unknown key 'sourceport' (did you mean 'source-port'?)");
    }

    @Test
    void aTypeThatTakesABuiltInKeyIsReported() {
        MatchType clash = new MatchType() {
            @Override
            public String key() {
                return "sni";
            }

            @Override
            public Match parse(MatchValue value) {
                throw new AssertionError("never called");
            }
        };

        assertThat(Errors.errorsOf("listeners: {}\n", PolicyOptions.defaults().withMatchTypes(List.of(clash))))
                .singleElement().asString()
                .startsWith("rules.yaml:1:1: match type ")
                .endsWith(" uses the key 'sni', which is already taken; it cannot be used");
    }

    @Test
    void aTypeThatFailsIsReportedAtTheValue() {
        MatchType broken = new MatchType() {
            @Override
            public String key() {
                return "broken";
            }

            @Override
            public Match parse(MatchValue value) {
                throw new IllegalStateException("bug");
            }
        };

        assertThat(Errors.errorsOf(Errors.rules("      - name: x\n        broken: 1\n        action: accept\n"),
                PolicyOptions.defaults().withMatchTypes(List.of(broken)))).singleElement().asString()
                .startsWith("rules.yaml:5:17: match type 'broken' (")
                .endsWith(") failed: java.lang.IllegalStateException: bug");
    }
}
