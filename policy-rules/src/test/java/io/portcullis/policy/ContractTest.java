package io.portcullis.policy;

import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.limit.RateLimit;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Permit;
import io.portcullis.policy.model.Verdict;
import io.portcullis.policy.rule.RuleMode;

import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The worked example of DESIGN.md's contract ({@code rules/contract.yaml} with its list file). */
class ContractTest {

    private final MutableClock clock = new MutableClock("2025-01-06T10:00:00Z"); // Monday 11:00 in Berlin
    private final List<String> shadow = new ArrayList<>();

    private static Path contract() throws URISyntaxException {
        return Path.of(ContractTest.class.getResource("/rules/contract.yaml").toURI());
    }

    private PolicyEngine engine() throws Exception {
        Policy policy = Policy.load(contract(), PolicyOptions.defaults().withClock(clock).withLimiters(new LimiterRegistry()));
        return new PolicyEngine(policy, (request, wouldBe) -> shadow.add(wouldBe.rule() + ":" + wouldBe.action().label()));
    }

    private static InspectRequest request(String source, String sni) {
        return Requests.tls("postgres", source, sni);
    }

    @Test
    void theContractExampleParsesWithItsListFile() throws Exception {
        Policy policy = engine().current();

        assertThat(policy.listNames()).containsExactly("office", "blocked");
        assertThat(policy.listenerNames()).containsExactly("postgres");
        ListenerPolicy postgres = policy.listener("postgres").orElseThrow();
        assertThat(postgres.ruleNames()).containsExactly(
                "deny-blocked", "office", "per-ip-cap", "new-ip-rate", "ask-authz", "try-new-rule");
        assertThat(postgres.defaultAction()).isEqualTo(InspectAction.REJECT);
        assertThat(postgres.rules().get(3).limiter().orElseThrow().settings())
                .isEqualTo(new RateLimit(LimitKey.SOURCE_IP, 10, Duration.ofSeconds(1), 20));
        assertThat(postgres.rules().get(5).mode()).isEqualTo(RuleMode.SHADOW);
        Path dir = contract().getParent();
        assertThat(policy.files()).containsExactly(contract().toAbsolutePath().normalize(),
                dir.resolve("blocked.txt").toAbsolutePath().normalize());
    }

    @Test
    void theContractExampleDecidesAsItsCommentsSay() throws Exception {
        PolicyEngine engine = engine();

        assertThat(engine.evaluate(request("203.0.113.9", null))).isEqualTo(new Verdict(InspectAction.REJECT, "deny-blocked"));
        assertThat(engine.evaluate(request("198.51.100.66", null)).rule()).as("a single address in blocked.txt")
                .isEqualTo("deny-blocked");
        assertThat(engine.evaluate(request("2001:db8:bad::1", null)).rule()).isEqualTo("deny-blocked");
        assertThat(engine.evaluate(request("192.0.2.10", null))).isEqualTo(new Verdict(InspectAction.ACCEPT, "office"));

        clock.set("2025-01-11T10:00:00Z"); // Saturday: the office rule does not apply
        Verdict pended = engine.evaluate(request("192.0.2.10", "db.example.com"));
        assertThat(pended.action()).isEqualTo(InspectAction.PEND);
        assertThat(pended.rule()).isEqualTo("ask-authz");
        assertThat(pended.decision()).contains("authz");
        assertThat(pended.permit()).as("the per-ip-cap slot, held until the connection ends").isNotSameAs(Permit.NONE);
        pended.permit().release();

        Verdict rejected = engine.evaluate(request("198.51.100.7", null));
        assertThat(rejected).isEqualTo(new Verdict(InspectAction.REJECT, "default"));
        assertThat(shadow).containsExactly("try-new-rule:reject");
    }

    @Test
    void theContractsLimitersBite() throws Exception {
        PolicyEngine engine = engine();
        clock.set("2025-01-11T10:00:00Z");
        List<Verdict> open = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            open.add(engine.evaluate(request("192.0.2.10", "db.example.com")));
        }
        assertThat(open).extracting(Verdict::rule).containsOnly("ask-authz");

        Verdict capped = engine.evaluate(request("192.0.2.10", "db.example.com"));

        assertThat(capped.rule()).isEqualTo("per-ip-cap");
        open.forEach(verdict -> verdict.permit().release());
        Verdict rated = engine.evaluate(request("192.0.2.10", "db.example.com"));
        assertThat(rated.rule()).as("20 connections used the burst of 20 (unless a token refilled)")
                .isIn("new-ip-rate", "ask-authz");
        rated.permit().release();
        assertThat(engine.evaluate(Optional.of(request("192.0.2.11", "db.example.com")).get()).rule()).isEqualTo("ask-authz");
    }
}
