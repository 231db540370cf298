package io.portcullis.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.gateway.decision.DecisionNameCheck;
import io.portcullis.gateway.policy.PolicyChecks.ListenerFacts;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rule on what a TLS peek finds (sni, alpn) can never act as written on a listener that does not peek: refused
 * at start, on reload and in validate (all three go through {@link PolicyChecks}), shadow rules too.
 */
class PolicyChecksTest {

    private static final String TLS_RULES = """
            listeners:
              db:
                rules:
                  - name: office
                    source: [192.0.2.0/24]
                    action: accept
                  - name: by-name
                    sni: ["*.example.com"]
                    action: reject
                  - name: watch-h2
                    alpn: [h2]
                    action: reject
                    mode: shadow
                  - name: no-name-no-protocol
                    source: [198.51.100.0/24]
                    sni: [none]
                    alpn: [none]
                    action: accept
                default: reject
              web:
                rules:
                  - name: by-name
                    sni: [www.example.com]
                    action: accept
                default: reject
            """;

    @TempDir
    Path dir;

    private static PolicyChecks checks(ListenerFacts... listeners) {
        return PolicyChecks.of(List.of(listeners), DecisionNameCheck.of(Set.of()));
    }

    @Test
    void everyRuleOnSniOrAlpnOfAListenerThatDoesNotPeekIsRefusedWithItsPosition() throws Exception {
        Policy policy = Policy.parse(TLS_RULES, "rules.yaml");

        assertThat(checks(new ListenerFacts("db", true, false, false)).problems(policy)).containsExactly(
                "rules.yaml:7:9: rule 'by-name' of listener 'db' matches on sni, but listener 'db' does not peek at TLS, "
                        + "so sni is never known there; set peek.tls: true on the listener, or remove the rule or its condition",
                "rules.yaml:10:9: rule 'watch-h2' of listener 'db' matches on alpn, but listener 'db' does not peek at TLS, "
                        + "so alpn is never known there; set peek.tls: true on the listener, or remove the rule or its condition",
                "rules.yaml:14:9: rule 'no-name-no-protocol' of listener 'db' matches on sni and alpn, but listener 'db' "
                        + "does not peek at TLS, so they are never known there; set peek.tls: true on the listener, or "
                        + "remove the rule or its conditions");
    }

    @Test
    void aListenerThatPeeksTakesThem() throws Exception {
        Policy policy = Policy.parse(TLS_RULES, "rules.yaml");

        assertThat(checks(new ListenerFacts("db", true, true, false), new ListenerFacts("web", true, true, false)).problems(policy))
                .isEmpty();
    }

    @Test
    void sectionsThatNeverRunAreNotChecked() throws Exception {
        Policy policy = Policy.parse(TLS_RULES, "rules.yaml");

        assertThat(checks(new ListenerFacts("db", false, false, false)).problems(policy))
                .as("db does not inspect; web is not configured").isEmpty();
    }

    @Test
    void aFileOnItsOwnTakesPeekRulesForOnlyTheConfigurationSaysWhatIsPeeked() throws Exception {
        assertThat(PolicyChecks.standalone().problems(Policy.parse(TLS_RULES, "rules.yaml"))).isEmpty();
        assertThat(PolicyChecks.standalone().problems(Policy.parse(PEEKED_RULES, "rules.yaml"))).isEmpty();
        assertThat(PolicyChecks.standalone().isStandalone()).isTrue();
        assertThat(PolicyChecks.standalone().problems(Policy.parse(
                "listeners:\n  x:\n    rules:\n      - name: a\n        action: pend\n        decision: nowhere\n"
                        + "    default: reject\n", "rules.yaml")))
                .as("without a configuration, decision names are not known").isEmpty();
    }

    private static final String PEEKED_RULES = """
            listeners:
              db:
                rules:
                  - name: bots
                    tls-fingerprint: [t13d1516h2_8daaf6152771_e5627efa2ab1]
                    action: reject
                  - name: via-endpoint
                    pp-tlv: {type: 0xEA, values: [vpce-0123abcd]}
                    action: accept
                  - name: by-authority
                    pp-authority: ["*.example.com"]
                    sni: [none]
                    mode: shadow
                    action: accept
                default: reject
            """;

    @Test
    void aTlsFingerprintNeedsATlsPeekAndPpKeysNeedAProxyHeader() throws Exception {
        Policy policy = Policy.parse(PEEKED_RULES, "rules.yaml");

        assertThat(checks(new ListenerFacts("db", true, false, false)).problems(policy)).containsExactly(
                "rules.yaml:4:9: rule 'bots' of listener 'db' matches on tls-fingerprint, but listener 'db' does not"
                        + " peek at TLS, so tls-fingerprint is never known there; " + PolicyChecks.TLS_HINT,
                "rules.yaml:7:9: rule 'via-endpoint' of listener 'db' matches on pp-tlv, but listener 'db' reads no"
                        + " PROXY-protocol header, so pp-tlv is never known there; " + PolicyChecks.PROXY_HINT,
                "rules.yaml:10:9: rule 'by-authority' of listener 'db' matches on sni, but listener 'db' does not peek"
                        + " at TLS, so sni is never known there; " + PolicyChecks.TLS_HINT,
                "rules.yaml:10:9: rule 'by-authority' of listener 'db' matches on pp-authority, but listener 'db' reads"
                        + " no PROXY-protocol header, so pp-authority is never known there; " + PolicyChecks.PROXY_HINT);
        assertThat(checks(new ListenerFacts("db", true, true, false)).problems(policy))
                .as("peeking covers tls-fingerprint and sni, not the PROXY keys")
                .allSatisfy(problem -> assertThat(problem).contains("reads no PROXY-protocol header")).hasSize(2);
        assertThat(checks(new ListenerFacts("db", true, false, true)).problems(policy))
                .as("a PROXY header covers pp-*, not the TLS keys")
                .allSatisfy(problem -> assertThat(problem).contains("does not peek at TLS")).hasSize(2);
        assertThat(checks(new ListenerFacts("db", true, true, true)).problems(policy)).isEmpty();
    }

    @Test
    void aReloadToAnSniRuleIsRefusedAndTheRunningPolicyStays() throws Exception {
        Path file = dir.resolve("rules.yaml");
        String plain = "listeners:\n  db:\n    rules:\n      - name: office\n        source: [192.0.2.0/24]\n"
                + "        action: accept\n    default: reject\n";
        Files.writeString(file, plain);
        Policy running = Policy.load(file);
        PolicyEngine engine = new PolicyEngine(running);
        try (PolicyReloader reloader = new PolicyReloader(engine, file, PolicyOptions.defaults(),
                checks(new ListenerFacts("db", true, false, false)), success -> { }, Duration.ofSeconds(1))) {
            Files.writeString(file, plain.replace("        source: [192.0.2.0/24]\n",
                    "        source: [192.0.2.0/24]\n        sni: [db.example.com]\n        mode: shadow\n"));
            PolicyReloader.Result result = reloader.reload();
            assertThat(result.success()).isFalse();
            assertThat(result.errors()).singleElement().asString()
                    .startsWith(file + ":4:9: rule 'office' of listener 'db' matches on sni");
            assertThat(engine.current()).isSameAs(running);
        }
    }
}
