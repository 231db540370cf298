package io.portcullis.policy;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Permit;
import io.portcullis.policy.model.Verdict;
import io.portcullis.policy.rule.RuleMode;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Actions with their decision service and timeout, and shadow mode. */
class ActionsAndShadowTest {

    /** Shadow reports as "rule:action" strings. */
    private final List<String> reports = new ArrayList<>();
    private final ShadowObserver observer = (request, wouldBe) -> reports.add(wouldBe.rule() + ":" + wouldBe.action().label());

    private static ListenerPolicy listener(String rules, String defaultAction) throws PolicyException {
        return Policy.parse("listeners:\n  demo:\n    rules:\n" + rules + "    default: " + defaultAction + "\n",
                "rules.yaml").listener("demo").orElseThrow();
    }

    @Test
    void acceptAndPendRulesCarryTheirRoute() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: to-api
                        source: [10.0.0.1]
                        action: accept
                        route: api
                      - name: ask
                        source: [10.0.0.2]
                        action: pend
                        decision: authz
                        route: " batch "
                      - name: plain
                        source: [10.0.0.3]
                        action: accept
                """, "reject");

        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.1")).route()).contains("api");
        Verdict ask = policy.evaluate(Requests.from("demo", "10.0.0.2"));
        assertThat(ask.action()).isEqualTo(InspectAction.PEND);
        assertThat(ask.route()).as("stripped, as decision names are").contains("batch");
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.3")).route()).isEmpty();
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.9")).route()).as("the default").isEmpty();
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException().isThrownBy(() -> new Verdict(
                InspectAction.REJECT, "r", Optional.empty(), Optional.empty(), Optional.empty(), Permit.NONE,
                Optional.of("api")));
    }

    @Test
    void acceptRejectAndPendWithDecisionAndTimeout() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: ok
                        source: [10.0.0.1]
                        action: accept
                      - name: no
                        source: [10.0.0.2]
                        action: reject
                      - name: ask-authz
                        source: [10.0.0.3]
                        action: pend
                        decision: authz
                        timeout: 2s
                      - name: ask-operator
                        source: [10.0.0.4]
                        action: pend
                      - name: quick
                        source: [10.0.0.5]
                        action: pend
                        timeout: 300ms
                """, "reject");

        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.1"))).isEqualTo(new Verdict(InspectAction.ACCEPT, "ok"));
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.2"))).isEqualTo(new Verdict(InspectAction.REJECT, "no"));
        Verdict authz = policy.evaluate(Requests.from("demo", "10.0.0.3"));
        assertThat(authz.action()).isEqualTo(InspectAction.PEND);
        assertThat(authz.rule()).isEqualTo("ask-authz");
        assertThat(authz.decision()).contains("authz");
        assertThat(authz.timeout()).contains(Duration.ofSeconds(2));
        assertThat(authz.permit()).isSameAs(Permit.NONE);
        Verdict operator = policy.evaluate(Requests.from("demo", "10.0.0.4"));
        assertThat(operator).isEqualTo(new Verdict(InspectAction.PEND, "ask-operator"));
        assertThat(operator.decision()).isEmpty();
        assertThat(operator.timeout()).isEmpty();
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.5")).timeout()).contains(Duration.ofMillis(300));
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.9"))).isEqualTo(new Verdict(InspectAction.REJECT, "default"));
    }

    @Test
    void durationsInEveryUnit() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: a
                        source: [10.0.0.1]
                        action: pend
                        timeout: 1m
                      - name: b
                        source: [10.0.0.2]
                        action: pend
                        timeout: 1h
                """, "reject");

        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.1")).timeout()).contains(Duration.ofMinutes(1));
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.2")).timeout()).contains(Duration.ofHours(1));
    }

    @Test
    void aShadowRuleIsReportedButDoesNotDecide() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: try-new-rule
                        source: [198.51.100.0/24]
                        action: reject
                        mode: shadow
                      - name: office
                        source: [198.51.100.0/25]
                        action: accept
                """, "pend");

        Verdict verdict = policy.evaluate(Requests.from("demo", "198.51.100.7"), observer);
        Verdict other = policy.evaluate(Requests.from("demo", "198.51.100.200"), observer);
        Verdict outside = policy.evaluate(Requests.from("demo", "203.0.113.1"), observer);

        assertThat(verdict).isEqualTo(new Verdict(InspectAction.ACCEPT, "office"));
        assertThat(other).isEqualTo(new Verdict(InspectAction.PEND, "default"));
        assertThat(outside).isEqualTo(new Verdict(InspectAction.PEND, "default"));
        assertThat(reports).containsExactly("try-new-rule:reject", "try-new-rule:reject");
        assertThat(policy.rules().get(0).mode()).isEqualTo(RuleMode.SHADOW);
        assertThat(policy.hasShadowRules()).isTrue();
    }

    @Test
    void shadowRulesAfterTheDecidingRuleAreNotEvaluated() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: local
                        source: [127.0.0.1]
                        action: accept
                      - name: would-pend
                        action: pend
                        decision: authz
                        mode: shadow
                """, "reject");

        assertThat(policy.evaluate(Requests.from("demo", "127.0.0.1"), observer).rule()).isEqualTo("local");
        assertThat(reports).isEmpty();
        Verdict verdict = policy.evaluate(Requests.from("demo", "10.0.0.1"), observer);
        assertThat(verdict).isEqualTo(new Verdict(InspectAction.REJECT, "default"));
        assertThat(reports).containsExactly("would-pend:pend");
    }

    @Test
    void aShadowCatchAllIsNotACatchAllAndAnEnforcingOneIsReportedEvenForShadowRules() {
        assertThat(Errors.errorsOf(Errors.rules("""
                      - name: everyone
                        action: reject
                        mode: shadow
                      - name: everyone-really
                        action: accept
                      - name: late-shadow
                        source: [10.0.0.0/8]
                        action: reject
                        mode: shadow
                """))).containsExactly("rules.yaml:9:9: rule 'late-shadow' can never match: rule 'everyone-really'"
                + " at line 7 matches every connection first");
    }

    @Test
    void modeEnforceIsTheDefaultAndCanBeWritten() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: local
                        source: [127.0.0.1]
                        action: accept
                        mode: enforce
                """, "reject");

        assertThat(policy.rules().get(0).mode()).isEqualTo(RuleMode.ENFORCE);
        assertThat(policy.hasShadowRules()).isFalse();
        assertThat(policy.evaluate(Requests.from("demo", "127.0.0.1"), observer).rule()).isEqualTo("local");
    }

    @Test
    void theEngineReportsShadowVerdictsToItsObserverAndAThrowingObserverChangesNothing() throws PolicyException {
        Policy policy = Policy.parse(Errors.rules("""
                      - name: shadow-accept
                        action: accept
                        mode: shadow
                """), "rules.yaml");
        List<Verdict> seen = new ArrayList<>();
        PolicyEngine engine = new PolicyEngine(policy, (request, wouldBe) -> seen.add(wouldBe));
        PolicyEngine throwing = new PolicyEngine(policy, (request, wouldBe) -> {
            throw new IllegalStateException("observer bug");
        });

        assertThat(engine.evaluate(Requests.from("demo", "10.0.0.1"))).isEqualTo(new Verdict(InspectAction.REJECT, "default"));
        assertThat(seen).containsExactly(new Verdict(InspectAction.ACCEPT, "shadow-accept"));
        assertThat(throwing.evaluate(Requests.from("demo", "10.0.0.1"))).isEqualTo(new Verdict(InspectAction.REJECT, "default"));
        assertThat(new PolicyEngine(policy).evaluate(Requests.from("demo", "10.0.0.1")).rule()).isEqualTo("default");
    }

    @Test
    void verdictConvenienceConstructorAndInvariants() {
        Verdict plain = new Verdict(InspectAction.ACCEPT, "r");

        assertThat(plain.decision()).isEmpty();
        assertThat(plain.timeout()).isEmpty();
        assertThat(plain.reason()).isEmpty();
        assertThat(plain.permit()).isSameAs(Permit.NONE);
        assertThat(plain.withReason("why").reason()).contains("why");
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException().isThrownBy(() -> new Verdict(
                InspectAction.ACCEPT, "r", Optional.of("authz"), Optional.empty(), Optional.empty(), Permit.NONE));
    }

    @Test
    void evaluationWithEveryConditionKindAndShadowRulesAllocatesNoMoreThanTheAddressBytes() throws PolicyException {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        if (!threads.isThreadAllocatedMemorySupported()) {
            return;
        }
        threads.setThreadAllocatedMemoryEnabled(true);
        Policy policy = Policy.parse(Errors.rules("""
                      - name: shadowed
                        source: [10.0.0.0/8]
                        action: reject
                        mode: shadow
                      - name: web
                        port: [443, "8000-8100"]
                        sni: ["*.example.com", db.example.org, none]
                        alpn: [h2, "http/1.1"]
                        time: {days: [mon-fri], from: "22:00", to: "06:00", zone: Europe/Berlin}
                        action: accept
                """), "rules.yaml", PolicyOptions.defaults().withClock(java.time.Clock.systemUTC()));
        ListenerPolicy demo = policy.listener("demo").orElseThrow();
        int[] count = new int[1];
        ShadowObserver counting = (request, wouldBe) -> count[0]++;
        InspectRequest request = Requests.to("demo", "10.1.2.3", 40000, 443)
                .withTls(Optional.of("Mixed.Example.COM"), List.of("spdy/3", "http/1.1"));
        for (int i = 0; i < 20_000; i++) {
            demo.evaluate(request, counting);
        }
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        int rounds = 100_000;
        for (int i = 0; i < rounds; i++) {
            demo.evaluate(request, counting);
        }
        long perEvaluation = (threads.getThreadAllocatedBytes(thread) - before) / rounds;

        assertThat(count[0]).isEqualTo(120_000);
        assertThat(perEvaluation).isLessThanOrEqualTo(24); // the byte[4] of getAddress()
    }
}
