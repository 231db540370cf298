package io.portcullis.policy;

import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.limit.LimitScope;
import io.portcullis.policy.limit.Limiter;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.limit.OnStoreFailure;
import io.portcullis.policy.limit.RateLimit;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Permit;
import io.portcullis.policy.model.Verdict;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The stepwise evaluation of {@code scope: cluster} limiters: where it stops, what each answer of the store
 * resumes to, who holds which permit when, and that without cluster limiters nothing changes.
 */
class ClusterStepTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final LimiterRegistry registry = new LimiterRegistry(nanos::get, 1000);
    private final List<String> shadowReports = new ArrayList<>();
    private final ShadowObserver observer = (request, wouldBe) -> shadowReports.add(wouldBe.rule() + ":"
            + wouldBe.action().label() + ":" + wouldBe.reason().orElse(""));

    /** The permit a store gives: counts its releases. */
    private static final class Lease implements Permit {
        final AtomicInteger releases = new AtomicInteger();

        @Override
        public void release() {
            releases.incrementAndGet();
        }
    }

    private ListenerPolicy listener(String rules, String defaultAction) throws PolicyException {
        return listener(rules, defaultAction, registry);
    }

    private static ListenerPolicy listener(String rules, String defaultAction, LimiterRegistry registry)
            throws PolicyException {
        return Policy.parse("listeners:\n  demo:\n    rules:\n" + rules + "    default: " + defaultAction + "\n",
                "rules.yaml", registry).listener("demo").orElseThrow();
    }

    private Evaluation step(ListenerPolicy policy, String source) {
        return policy.evaluateStepwise(Requests.from("demo", source), observer);
    }

    private static ClusterStep suspended(Evaluation evaluation) {
        assertThat(evaluation).as("the evaluation waits for the store").isInstanceOf(ClusterStep.class);
        return (ClusterStep) evaluation;
    }

    private static Verdict decided(Evaluation evaluation) {
        assertThat(evaluation).as("the evaluation decided").isInstanceOf(Evaluation.Decided.class);
        return ((Evaluation.Decided) evaluation).verdict();
    }

    private static Limiter limiterOf(ListenerPolicy policy, String rule) {
        return policy.rules().stream().filter(r -> r.name().equals(rule)).findFirst().orElseThrow().limiter().orElseThrow();
    }

    /** A local slot per address, two cluster limiters, then accept; 192.0.2.66 is rejected by a rule after them. */
    private static final String CHAIN = """
                  - name: local-cap
                    concurrency-limit: {max: 1}
                  - name: cluster-rate
                    rate-limit: {rate: 10/s, scope: cluster}
                  - name: cluster-cap
                    concurrency-limit: {key: source-cidr/24, max: 5, scope: cluster, on-store-failure: reject}
                  - name: blocked
                    source: [192.0.2.66]
                    action: reject
                  - name: all
                    action: accept
            """;

    // ---- where it stops -------------------------------------------------------------------------

    @Test
    void itStopsAtEachEnforcingClusterLimiterWithWhatTheStoreNeeds() throws PolicyException {
        ListenerPolicy policy = listener(CHAIN, "reject");
        assertThat(policy.hasClusterLimiters()).isTrue();

        ClusterStep rate = suspended(step(policy, "192.0.2.7"));
        assertThat(rate.listener()).isEqualTo("demo");
        assertThat(rate.rule()).isEqualTo("cluster-rate");
        assertThat(rate.ruleIndex()).isEqualTo(1);
        assertThat(rate.policy()).isSameAs(policy);
        assertThat(rate.settings()).isEqualTo(new RateLimit(LimitKey.SOURCE_IP, 10, Duration.ofSeconds(1), 10,
                LimitScope.CLUSTER, OnStoreFailure.LOCAL));
        assertThat(rate.key()).isEqualTo("192.0.2.7");
        assertThat(rate.held()).as("the local slot").isNotSameAs(Permit.NONE);
        assertThat(rate.clusterLimitersAhead()).isEqualTo(2);
        assertThat(rate.request().source().getAddress().getHostAddress()).isEqualTo("192.0.2.7");

        ClusterStep cap = suspended(rate.passed(Permit.NONE));
        assertThat(cap.rule()).isEqualTo("cluster-cap");
        assertThat(cap.settings()).isInstanceOf(ConcurrencyLimit.class);
        assertThat(cap.onStoreFailure()).isEqualTo(OnStoreFailure.REJECT);
        assertThat(cap.key()).isEqualTo("192.0.2.0/24");
        assertThat(cap.clusterLimitersAhead()).isEqualTo(1);

        Lease lease = new Lease();
        Verdict accepted = decided(cap.passed(lease));
        assertThat(accepted.action()).isEqualTo(InspectAction.ACCEPT);
        assertThat(accepted.rule()).isEqualTo("all");
        assertThat(lease.releases).as("held with the connection").hasValue(0);

        // the local slot is kept while the connection lives: the next one from the address is refused locally
        Verdict second = decided(step(policy, "192.0.2.7"));
        assertThat(second.rule()).isEqualTo("local-cap");
        assertThat(second.action()).isEqualTo(InspectAction.REJECT);

        accepted.permit().release();
        assertThat(lease.releases).as("the verdict's permit releases the lease").hasValue(1);
        assertThat(suspended(step(policy, "192.0.2.7")).rule()).as("and the local slot").isEqualTo("cluster-rate");
    }

    @Test
    void aRuleWhoseConditionsDoNotHoldAndAShadowClusterLimiterDoNotStopIt() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: watch
                        rate-limit: {rate: 1/m, scope: cluster}
                        mode: shadow
                      - name: office-only
                        source: [10.0.0.0/8]
                        rate-limit: {rate: 1/m, scope: cluster}
                      - name: all
                        action: accept
                """, "reject");

        assertThat(decided(step(policy, "192.0.2.1")).rule()).isEqualTo("all");
        assertThat(decided(step(policy, "192.0.2.1")).rule()).as("the shadow limiter counts locally").isEqualTo("all");
        assertThat(shadowReports).containsExactly("watch:reject:rate-limit exceeded: 1/m (burst 1) per source-ip");
        assertThat(suspended(step(policy, "10.1.2.3")).rule()).isEqualTo("office-only");
    }

    @Test
    void withoutClusterLimitersTheStepwiseVerdictsAreThoseOfEvaluate() throws PolicyException {
        String rules = """
                      - name: cap
                        concurrency-limit: {max: 2}
                      - name: rate
                        rate-limit: {rate: 3/m, burst: 3}
                      - name: watch
                        source: [192.0.2.0/24]
                        action: reject
                        mode: shadow
                      - name: ask
                        source: [10.0.0.0/8]
                        action: pend
                        timeout: 2s
                      - name: office
                        source: [192.0.2.0/24]
                        action: accept
                """;
        ListenerPolicy plain = listener(rules, "reject", new LimiterRegistry(nanos::get, 1000));
        ListenerPolicy stepwise = listener(rules, "reject", new LimiterRegistry(nanos::get, 1000));
        assertThat(stepwise.hasClusterLimiters()).isFalse();

        List<String> expected = new ArrayList<>();
        List<String> actual = new ArrayList<>();
        // accepted connections end at once (their slots come back), pended ones stay (and fill the cap)
        for (String source : List.of("192.0.2.1", "192.0.2.1", "192.0.2.1", "10.0.0.1", "198.51.100.1", "192.0.2.1",
                "10.0.0.1", "10.0.0.1", "192.0.2.1")) {
            Verdict a = plain.evaluate(Requests.from("demo", source), observer);
            Verdict b = decided(stepwise.evaluateStepwise(Requests.from("demo", source), observer));
            if (a.action() == InspectAction.ACCEPT) {
                a.permit().release();
            }
            if (b.action() == InspectAction.ACCEPT) {
                b.permit().release();
            }
            expected.add(a.action() + " " + a.rule() + " " + a.reason() + " " + a.timeout() + " " + (a.permit() == Permit.NONE));
            actual.add(b.action() + " " + b.rule() + " " + b.reason() + " " + b.timeout() + " " + (b.permit() == Permit.NONE));
        }
        assertThat(actual).isEqualTo(expected);
        assertThat(expected).as("the sequence covers limiter rejects, pends and the default")
                .anyMatch(v -> v.startsWith("REJECT cap")).anyMatch(v -> v.startsWith("REJECT rate"))
                .anyMatch(v -> v.startsWith("PEND ask")).anyMatch(v -> v.startsWith("REJECT default"));
    }

    @Test
    void plainEvaluateCountsClusterLimitersLocally() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: rate
                        rate-limit: {rate: 1/m, scope: cluster, on-store-failure: accept}
                """, "accept");

        assertThat(policy.evaluate(Requests.from("demo", "192.0.2.1")).rule()).isEqualTo("default");
        Verdict second = policy.evaluate(Requests.from("demo", "192.0.2.1"));
        assertThat(second.rule()).isEqualTo("rate");
        assertThat(second.reason()).hasValue("rate-limit exceeded: 1/m (burst 1) per source-ip");
    }

    // ---- refused ------------------------------------------------------------------------------

    @Test
    void aRefusalRejectsWithTheLimiterAndReleasesWhatWasHeld() throws PolicyException {
        ListenerPolicy policy = listener(CHAIN, "reject");

        Verdict atRate = decided(suspended(step(policy, "192.0.2.7")).refused());
        assertThat(atRate.action()).isEqualTo(InspectAction.REJECT);
        assertThat(atRate.rule()).isEqualTo("cluster-rate");
        assertThat(atRate.reason()).hasValue("rate-limit exceeded: 10/s (burst 10) per source-ip across the cluster");
        assertThat(atRate.permit()).isSameAs(Permit.NONE);
        assertThat(limiterOf(policy, "local-cap").trackedKeys()).as("the local slot is given back").isZero();

        ClusterStep cap = suspended(suspended(step(policy, "192.0.2.7")).passed(Permit.NONE));
        Verdict atCap = decided(cap.refused());
        assertThat(atCap.rule()).isEqualTo("cluster-cap");
        assertThat(atCap.reason()).hasValue("concurrency-limit reached: 5 open connections per source-cidr/24 across"
                + " the cluster");
        assertThat(limiterOf(policy, "local-cap").trackedKeys()).isZero();
    }

    @Test
    void aLeaseGivenBeforeALaterRejectIsReleased() throws PolicyException {
        ListenerPolicy policy = listener(CHAIN, "reject");
        Lease lease = new Lease();

        Verdict blocked = decided(suspended(suspended(step(policy, "192.0.2.66")).passed(Permit.NONE)).passed(lease));

        assertThat(blocked.rule()).isEqualTo("blocked");
        assertThat(blocked.permit()).isSameAs(Permit.NONE);
        assertThat(lease.releases).hasValue(1);
        assertThat(limiterOf(policy, "local-cap").trackedKeys()).isZero();
    }

    // ---- the store failed ---------------------------------------------------------------------

    @Test
    void onStoreFailureLocalCountsInTheLimitersLocalState() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: rate
                        rate-limit: {rate: 1/m, scope: cluster}
                      - name: cap
                        concurrency-limit: {max: 1, scope: cluster, on-store-failure: local}
                """, "accept");

        // the rate limit's one local token: taken by the first failure, so the second is refused locally
        ClusterStep first = suspended(step(policy, "192.0.2.1"));
        assertThat(first.onStoreFailure()).isEqualTo(OnStoreFailure.LOCAL);
        ClusterStep cap = suspended(first.storeFailed());
        Verdict admitted = decided(cap.storeFailed());
        assertThat(admitted.rule()).isEqualTo("default");
        assertThat(admitted.permit()).as("the local slot of the cap").isNotSameAs(Permit.NONE);
        assertThat(limiterOf(policy, "cap").trackedKeys()).isEqualTo(1);

        Verdict refused = decided(suspended(step(policy, "192.0.2.1")).storeFailed());
        assertThat(refused.rule()).isEqualTo("rate");
        assertThat(refused.reason()).hasValue("rate-limit exceeded: 1/m (burst 1) per source-ip");

        // the local state is the one plain evaluate uses too
        assertThat(policy.evaluate(Requests.from("demo", "192.0.2.1")).rule()).isEqualTo("rate");
        Verdict other2 = policy.evaluate(Requests.from("demo", "192.0.2.2"));
        assertThat(other2.rule()).as("cap slot of .2 free").isEqualTo("default");
        other2.permit().release();

        // a second connection at the cap, counted locally, is refused by the cap; its rate token was taken
        ClusterStep other = suspended(suspended(step(policy, "192.0.2.3")).passed(Permit.NONE));
        decided(other.storeFailed()); // .3 holds the cap's slot now (the verdict is dropped without release on purpose)
        Verdict atCap = decided(suspended(suspended(step(policy, "192.0.2.3")).passed(Permit.NONE)).storeFailed());
        assertThat(atCap.rule()).isEqualTo("cap");
        assertThat(atCap.reason()).hasValue("concurrency-limit reached: 1 open connections per source-ip");

        admitted.permit().release();
        assertThat(limiterOf(policy, "cap").trackedKeys()).as(".1 gave its slot back, .3 holds one").isEqualTo(1);
    }

    @Test
    void onStoreFailureAcceptPassesWithoutTouchingLocalState() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: cap
                        concurrency-limit: {max: 1, scope: cluster, on-store-failure: accept}
                      - name: all
                        action: accept
                """, "reject");

        for (int i = 0; i < 3; i++) {
            Verdict verdict = decided(suspended(step(policy, "192.0.2.1")).storeFailed());
            assertThat(verdict.rule()).isEqualTo("all");
            assertThat(verdict.permit()).isSameAs(Permit.NONE);
        }
        assertThat(limiterOf(policy, "cap").trackedKeys()).isZero();
    }

    @Test
    void onStoreFailureRejectRejectsSayingTheStoreWasUnavailableAndReleasesWhatWasHeld() throws PolicyException {
        ListenerPolicy policy = listener(CHAIN, "reject");
        Lease lease = new Lease();

        ClusterStep cap = suspended(suspended(step(policy, "192.0.2.7")).passed(Permit.NONE));
        Verdict rejected = decided(cap.storeFailed());

        assertThat(rejected.action()).isEqualTo(InspectAction.REJECT);
        assertThat(rejected.rule()).isEqualTo("cluster-cap");
        assertThat(rejected.reason()).hasValue("cluster store unavailable: concurrency-limit not checked"
                + " (on-store-failure: reject)");
        assertThat(limiterOf(policy, "local-cap").trackedKeys()).isZero();
        assertThat(limiterOf(policy, "cluster-cap").trackedKeys()).as("no local count for reject").isZero();
        assertThat(lease.releases).hasValue(0);
    }

    // ---- once, abandon, snapshot ----------------------------------------------------------------

    @Test
    void aStepResumesOnceAndAnAbandonedOneReleasesWhatItHeld() throws PolicyException {
        ListenerPolicy policy = listener(CHAIN, "reject");

        ClusterStep once = suspended(step(policy, "192.0.2.7"));
        once.refused();
        assertThatThrownBy(() -> once.passed(Permit.NONE)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("resumed already");
        assertThatThrownBy(once::storeFailed).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(once::abandon).isInstanceOf(IllegalStateException.class);

        ClusterStep gone = suspended(step(policy, "192.0.2.7"));
        assertThat(limiterOf(policy, "local-cap").trackedKeys()).isEqualTo(1);
        gone.abandon();
        assertThat(limiterOf(policy, "local-cap").trackedKeys()).isZero();
    }

    @Test
    void aStepGoesOnOnThePolicyItStartedOnWhateverIsReloadedMeanwhile() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(Policy.parse("listeners:\n  demo:\n    rules:\n" + CHAIN
                + "    default: reject\n", "rules.yaml", registry));
        ClusterStep before = suspended(engine.listenerPolicy("demo").evaluateStepwise(
                Requests.from("demo", "192.0.2.7"), engine.shadowObserver()));

        engine.replace(Policy.parse("""
                listeners:
                  demo:
                    rules:
                      - name: all
                        action: reject
                    default: reject
                """, "rules.yaml", registry));
        Verdict after = decided(suspended(before.passed(Permit.NONE)).passed(Permit.NONE));

        assertThat(after.action()).isEqualTo(InspectAction.ACCEPT);
        assertThat(after.rule()).isEqualTo("all");
        after.permit().release();
    }

    @Test
    void theEngineGivesANoPolicySectionForAnUnknownListener() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(Policy.parse("listeners: {}\n", "rules.yaml"));

        ListenerPolicy none = engine.listenerPolicy("ghost");
        Verdict verdict = decided(none.evaluateStepwise(Requests.from("ghost", "192.0.2.1"), ShadowObserver.NONE));

        assertThat(none.listener()).isEqualTo("ghost");
        assertThat(none.hasClusterLimiters()).isFalse();
        assertThat(verdict.action()).isEqualTo(InspectAction.REJECT);
        assertThat(verdict.rule()).isEqualTo(PolicyEngine.NO_POLICY_RULE);
        assertThat(engine.evaluate(Requests.from("ghost", "192.0.2.1")).rule()).isEqualTo(PolicyEngine.NO_POLICY_RULE);
    }

    @Test
    void theLongestLaterPendTimeoutBoundsTheWaitAfterAStep() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: short
                        source: [10.0.0.0/8]
                        action: pend
                        timeout: 3s
                      - name: rate
                        rate-limit: {rate: 10/s, scope: cluster}
                      - name: long
                        source: [192.0.2.0/24]
                        action: pend
                        timeout: 20s
                      - name: watch
                        action: pend
                        timeout: 1m
                        mode: shadow
                      - name: medium
                        source: [198.51.100.0/24]
                        action: pend
                        timeout: 7s
                """, "pend");
        ListenerPolicy none = listener("""
                      - name: rate
                        rate-limit: {rate: 10/s, scope: cluster}
                      - name: pend
                        action: pend
                """, "reject");

        ClusterStep step = suspended(step(policy, "203.0.113.1"));
        assertThat(step.longestLaterPendTimeout()).as("not the one before, not the shadow one").hasValue(Duration.ofSeconds(20));
        assertThat(suspended(step(none, "203.0.113.1")).longestLaterPendTimeout()).isEmpty();
        step.abandon();
    }

    // ---- keys as text ---------------------------------------------------------------------------

    @Test
    void keysAsTextAreAddressesOrCidrsOrTheListener() throws Exception {
        assertThat(text("source-ip", "192.0.2.7")).isEqualTo("192.0.2.7");
        assertThat(text("source-ip", "::ffff:192.0.2.7")).as("IPv4-mapped").isEqualTo("192.0.2.7");
        assertThat(text("source-ip", "2001:db8:1:2:3:4:5:6")).as("a /64").isEqualTo("2001:db8:1:2::/64");
        assertThat(text("source-cidr/24", "192.0.2.77")).isEqualTo("192.0.2.0/24");
        assertThat(text("source-cidr/0", "192.0.2.77")).isEqualTo("0.0.0.0/0");
        assertThat(text("source-cidr/128", "2001:db8::1")).isEqualTo("2001:db8::1");
        assertThat(text("source-cidr/128", "2001:db8:0:0:1:0:0:1")).as("the first longest zero run")
                .isEqualTo("2001:db8::1:0:0:1");
        assertThat(text("source-cidr/128", "2001:0:0:1:0:0:0:1")).as("the longest zero run").isEqualTo("2001:0:0:1::1");
        assertThat(text("source-cidr/128", "2001:db8:0:1:1:1:1:1")).as("one zero group stays")
                .isEqualTo("2001:db8:0:1:1:1:1:1");
        assertThat(text("source-cidr/128", "::1")).isEqualTo("::1");
        assertThat(text("source-cidr/128", "1::")).isEqualTo("1::");
        assertThat(text("source-cidr/128", "FE80::ABCD")).as("lower case").isEqualTo("fe80::abcd");
        assertThat(text("source-cidr/32/0", "2001:db8::1")).isEqualTo("::/0");
        assertThat(text("source-cidr/24/56", "2001:db8:aa:bbcc::1")).isEqualTo("2001:db8:aa:bb00::/56");
        assertThat(text("listener", "192.0.2.7")).isEqualTo("demo");

        InspectRequest unresolved = InspectRequest.of(InspectId.next(), "demo",
                InetSocketAddress.createUnresolved("nowhere.invalid", 1),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 1), Instant.now());
        assertThat(LimitKey.SOURCE_IP.text(unresolved, null)).isEqualTo(LimitKey.UNRESOLVED_TEXT);
    }

    private static String text(String key, String address) throws Exception {
        InspectRequest request = Requests.from("demo", address);
        return LimitKey.parse(key).orElseThrow().text(request, request.source().getAddress().getAddress());
    }
}
