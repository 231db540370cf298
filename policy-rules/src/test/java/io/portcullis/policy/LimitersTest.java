package io.portcullis.policy;

import io.portcullis.policy.limit.ConcurrencyPermit;
import io.portcullis.policy.limit.Limiter;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.Permit;
import io.portcullis.policy.model.Verdict;

import org.junit.jupiter.api.Test;

import java.net.Inet6Address;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** rate-limit and concurrency-limit on a clock the test moves (nothing sleeps). */
class LimitersTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private LimiterRegistry registry = new LimiterRegistry(nanos::get, 1000);

    private ListenerPolicy listener(String rules, String defaultAction) throws PolicyException {
        return Policy.parse("listeners:\n  demo:\n    rules:\n" + rules + "    default: " + defaultAction + "\n",
                "rules.yaml", registry).listener("demo").orElseThrow();
    }

    private void advance(long millis) {
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    private static Limiter limiterOf(ListenerPolicy policy, String rule) {
        return policy.rules().stream().filter(r -> r.name().equals(rule)).findFirst().orElseThrow().limiter().orElseThrow();
    }

    private static String ruleFor(ListenerPolicy policy, String source) {
        return policy.evaluate(Requests.from("demo", source)).rule();
    }

    // ---- rate-limit ----------------------------------------------------------------------------

    @Test
    void rateLimitRejectsPastItsBurstAndRecoversAtItsRate() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: per-ip-rate
                        rate-limit: {key: source-ip, rate: 2/s, burst: 3}
                      - name: everyone
                        action: accept
                """, "reject");

        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("everyone");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("everyone");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("everyone");
        Verdict refused = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        assertThat(refused.action()).isEqualTo(InspectAction.REJECT);
        assertThat(refused.rule()).isEqualTo("per-ip-rate");
        assertThat(refused.reason()).contains("rate-limit exceeded: 2/s (burst 3) per source-ip");
        assertThat(ruleFor(policy, "10.0.0.2")).as("another address has its own bucket").isEqualTo("everyone");

        advance(499);
        assertThat(ruleFor(policy, "10.0.0.1")).as("not a whole token yet").isEqualTo("per-ip-rate");
        advance(1);
        assertThat(ruleFor(policy, "10.0.0.1")).as("one token after 500 ms").isEqualTo("everyone");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("per-ip-rate");
        advance(10_000);
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("everyone");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("everyone");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("everyone");
        assertThat(ruleFor(policy, "10.0.0.1")).as("refilled to the burst, not beyond").isEqualTo("per-ip-rate");
    }

    @Test
    void perMinuteRateWithTheDefaultBurstAndKey() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: slow
                        rate-limit: {rate: 2/m}
                """, "accept");

        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("slow");
        advance(29_999);
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("slow");
        advance(1);
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
    }

    @Test
    void sourceCidrKeysGroupNetworksPerFamily() throws PolicyException {
        ListenerPolicy v4 = listener("""
                      - name: per-24
                        rate-limit: {key: source-cidr/24, rate: 1/m, burst: 1}
                """, "accept");

        assertThat(ruleFor(v4, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(v4, "10.0.0.200")).as("same /24").isEqualTo("per-24");
        assertThat(ruleFor(v4, "10.0.1.1")).as("next /24").isEqualTo("default");
        assertThat(ruleFor(v4, "::ffff:10.0.0.7")).as("IPv4-mapped counts as IPv4").isEqualTo("per-24");
        assertThat(ruleFor(v4, "2001:db8::1")).isEqualTo("default");
        assertThat(ruleFor(v4, "2001:db8::ffff:1")).as("IPv6 clients group by /64").isEqualTo("per-24");
        assertThat(ruleFor(v4, "2001:db8:0:1::1")).isEqualTo("default");

        ListenerPolicy v6 = listener("""
                      - name: per-48
                        rate-limit: {key: source-cidr/48, rate: 1/m, burst: 1}
                """, "accept");
        assertThat(ruleFor(v6, "2001:db8:1::1")).isEqualTo("default");
        assertThat(ruleFor(v6, "2001:db8:1:ffff::1")).as("same /48").isEqualTo("per-48");
        assertThat(ruleFor(v6, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(v6, "10.0.0.2")).as("IPv4 clients count per address").isEqualTo("default");

        ListenerPolicy both = listener("""
                      - name: both
                        rate-limit: {key: source-cidr/16/32, rate: 1/m, burst: 1}
                """, "accept");
        assertThat(ruleFor(both, "10.1.0.1")).isEqualTo("default");
        assertThat(ruleFor(both, "10.1.200.1")).isEqualTo("both");
        assertThat(ruleFor(both, "2001:db8:1::1")).isEqualTo("default");
        assertThat(ruleFor(both, "2001:db8:2::1")).as("same /32").isEqualTo("both");
    }

    @Test
    void sourceIpKeysIpv6ClientsByTheirSlash64SoRotatingAddressesGainsNothing() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: per-client
                        rate-limit: {key: source-ip, rate: 1/m, burst: 2}
                """, "accept");

        assertThat(ruleFor(policy, "2001:db8:1:2::1")).isEqualTo("default");
        assertThat(ruleFor(policy, "2001:db8:1:2:ffff:ffff:ffff:ffff")).isEqualTo("default");
        assertThat(ruleFor(policy, "2001:db8:1:2:a5:b6:c7:d8")).as("another address of the same /64")
                .isEqualTo("per-client");
        assertThat(ruleFor(policy, "2001:db8:1:3::1")).as("the next /64 has its own bucket").isEqualTo("default");
        assertThat(ruleFor(policy, "2001:db8:1:1:ffff:ffff:ffff:ffff")).as("and the one before").isEqualTo("default");

        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
        assertThat(policy.evaluate(Requests.from("demo", ipv4Mapped(10, 0, 0, 1))).rule())
                .as("IPv4-mapped (16 bytes) is the IPv4 client").isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("per-client");
        assertThat(policy.evaluate(Requests.from("demo", ipv4Mapped(10, 0, 0, 2))).rule())
                .as("IPv4 clients count per address, mapped or not: not all in ::ffff:0:0/64").isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.3")).isEqualTo("default");
        assertThat(limiterOf(policy, "per-client").trackedKeys()).isEqualTo(6);
    }

    /** {@code ::ffff:a.b.c.d} as an {@link Inet6Address} (a literal would come back as an Inet4Address). */
    private static Inet6Address ipv4Mapped(int a, int b, int c, int d) {
        byte[] bytes = new byte[16];
        bytes[10] = (byte) 0xFF;
        bytes[11] = (byte) 0xFF;
        bytes[12] = (byte) a;
        bytes[13] = (byte) b;
        bytes[14] = (byte) c;
        bytes[15] = (byte) d;
        try {
            return Inet6Address.getByAddress(null, bytes, -1);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void theIpv6PrefixIsSetBySourceCidr() throws PolicyException {
        ListenerPolicy perAddress = listener("""
                      - name: per-address
                        rate-limit: {key: source-cidr/128, rate: 1/m, burst: 1}
                """, "accept");
        assertThat(ruleFor(perAddress, "2001:db8::1")).isEqualTo("default");
        assertThat(ruleFor(perAddress, "2001:db8::2")).as("/128: every IPv6 address on its own").isEqualTo("default");
        assertThat(ruleFor(perAddress, "2001:db8::1")).isEqualTo("per-address");
        assertThat(ruleFor(perAddress, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(perAddress, "10.0.0.2")).isEqualTo("default");

        ListenerPolicy per56 = listener("""
                      - name: per-56
                        rate-limit: {key: source-cidr/56, rate: 1/m, burst: 1}
                """, "accept");
        assertThat(ruleFor(per56, "2001:db8:0:100::1")).isEqualTo("default");
        assertThat(ruleFor(per56, "2001:db8:0:1ff::1")).as("same /56").isEqualTo("per-56");
        assertThat(ruleFor(per56, "2001:db8:0:200::1")).as("next /56").isEqualTo("default");
    }

    @Test
    void aFloodOfFreshKeysAtTheCapIsRefusedAndEstablishedBucketsKeepTheirTokens() throws PolicyException {
        registry = new LimiterRegistry(nanos::get, 3);
        ListenerPolicy policy = listener("""
                      - name: rate
                        rate-limit: {rate: 1/m, burst: 2}
                """, "accept");
        Limiter rate = limiterOf(policy, "rate");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.1")).as("drained").isEqualTo("rate");
        assertThat(ruleFor(policy, "10.0.0.2")).as("one token left").isEqualTo("default");
        assertThat(ruleFor(policy, "2001:db8:0:1::1")).isEqualTo("default");

        for (int i = 0; i < 1000; i++) {
            String fresh = "2001:db8:1:" + Integer.toHexString(i) + "::1"; // each its own /64
            for (int attempt = 0; attempt < 3; attempt++) {
                Verdict refused = policy.evaluate(Requests.from("demo", fresh));
                assertThat(refused.rule()).as(fresh).isEqualTo("rate");
                assertThat(refused.reason()).hasValue("rate-limit is tracking 3 source-ip keys, its cap: connections"
                        + " with a new key are rejected until idle keys expire");
            }
        }

        assertThat(rate.refusedAtKeyCap()).isEqualTo(3000);
        assertThat(registry.refusedAtKeyCap()).isEqualTo(3000);
        assertThat(rate.trackedKeys()).isEqualTo(3);
        assertThat(ruleFor(policy, "10.0.0.1")).as("still drained: nothing reset it").isEqualTo("rate");
        assertThat(ruleFor(policy, "10.0.0.2")).as("its last token").isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.2")).isEqualTo("rate");
        assertThat(ruleFor(policy, "2001:db8:0:1:ffff::7")).as("its /64's last token").isEqualTo("default");
        assertThat(ruleFor(policy, "2001:db8:0:1::1")).isEqualTo("rate");
    }

    @Test
    void atTheCapIdleKeysStillExpireAndMakeRoom() throws PolicyException {
        registry = new LimiterRegistry(nanos::get, 2);
        ListenerPolicy policy = listener("""
                      - name: rate
                        rate-limit: {rate: 1/s, burst: 1}
                """, "accept");
        Limiter rate = limiterOf(policy, "rate");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.2")).isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.3")).isEqualTo("rate");

        advance(999);
        assertThat(ruleFor(policy, "10.0.0.2")).as("no whole token yet").isEqualTo("rate");
        assertThat(ruleFor(policy, "10.0.0.3")).as("nobody idle long enough yet").isEqualTo("rate");
        advance(101);
        // 10.0.0.1 has been idle for more than burst / rate, and at the cap no insert runs Caffeine's
        // maintenance: the limiter sweeps it out itself (at most every 100 ms, so within that of expiring)
        assertThat(ruleFor(policy, "10.0.0.3")).isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.4")).as("10.0.0.2 was used at 999 ms: still tracked").isEqualTo("rate");
        assertThat(rate.refusedAtKeyCap()).isEqualTo(3);
        assertThat(rate.trackedKeys()).isEqualTo(2);
    }

    @Test
    void listenerKeyCountsAllConnectionsTogether() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: whole-listener
                        rate-limit: {key: listener, rate: 1/s, burst: 2}
                """, "accept");

        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(policy, "2001:db8::1")).isEqualTo("default");
        assertThat(ruleFor(policy, "192.0.2.1")).isEqualTo("whole-listener");
    }

    @Test
    void idleBucketsExpireOnceTheyWouldBeFullAndKeysAreCapped() throws PolicyException {
        registry = new LimiterRegistry(nanos::get, 3);
        ListenerPolicy policy = listener("""
                      - name: rate
                        rate-limit: {rate: 10/s, burst: 20}
                """, "accept");
        Limiter rate = limiterOf(policy, "rate");

        for (int i = 1; i <= 10; i++) {
            policy.evaluate(Requests.from("demo", "10.0.0." + i));
        }
        assertThat(rate.trackedKeys()).as("bounded by the registry's cap").isLessThanOrEqualTo(3);
        advance(1_999);
        assertThat(rate.trackedKeys()).isPositive();
        advance(1); // burst / rate = 2 s: a bucket idle that long is full again, as good as new
        assertThat(rate.trackedKeys()).isZero();
    }

    @Test
    void aRateLimitOnlyCountsConnectionsThatReachItsRule() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: local
                        source: [127.0.0.1]
                        action: accept
                      - name: rate
                        source: [10.0.0.0/8]
                        rate-limit: {rate: 1/m, burst: 1}
                """, "accept");

        for (int i = 0; i < 5; i++) {
            assertThat(ruleFor(policy, "127.0.0.1")).isEqualTo("local");
        }
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("default");
        assertThat(ruleFor(policy, "10.0.0.1")).isEqualTo("rate");
        assertThat(ruleFor(policy, "11.0.0.1")).as("conditions do not hold: not counted").isEqualTo("default");
    }

    // ---- concurrency-limit ---------------------------------------------------------------------

    @Test
    void concurrencyLimitHoldsASlotPerConnectionUntilItIsReleased() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: per-ip-cap
                        concurrency-limit: {key: source-ip, max: 2}
                      - name: ask
                        action: pend
                        decision: authz
                """, "reject");
        Limiter cap = limiterOf(policy, "per-ip-cap");

        Verdict first = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        Verdict second = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        Verdict third = policy.evaluate(Requests.from("demo", "10.0.0.1"));

        assertThat(first.action()).isEqualTo(InspectAction.PEND);
        assertThat(first.decision()).contains("authz");
        assertThat(first.permit()).isInstanceOf(ConcurrencyPermit.class);
        assertThat(second.permit()).isNotSameAs(first.permit());
        assertThat(third.action()).isEqualTo(InspectAction.REJECT);
        assertThat(third.rule()).isEqualTo("per-ip-cap");
        assertThat(third.reason()).contains("concurrency-limit reached: 2 open connections per source-ip");
        assertThat(third.permit()).isSameAs(Permit.NONE);
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.2")).rule()).as("per address").isEqualTo("ask");

        first.permit().release();
        Verdict fourth = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        assertThat(fourth.rule()).as("a released slot is free again").isEqualTo("ask");
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.1")).rule()).isEqualTo("per-ip-cap");
        assertThat(cap.trackedKeys()).isEqualTo(2);
    }

    @Test
    void releasingTwiceGivesBackOneSlotAndAKeyLeavesAtZero() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: cap
                        concurrency-limit: {max: 2}
                """, "accept");
        Limiter cap = limiterOf(policy, "cap");

        Verdict a = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        Verdict b = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        a.permit().release();
        a.permit().release();
        a.permit().release();

        assertThat(((ConcurrencyPermit) a.permit()).isReleased()).isTrue();
        Verdict c = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        assertThat(c.rule()).isEqualTo("default");
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.1")).rule())
                .as("b and c hold both slots: the repeated release freed no extra one").isEqualTo("cap");
        b.permit().release();
        c.permit().release();
        c.permit().release();
        assertThat(cap.trackedKeys()).as("the key is dropped when its count returns to zero").isZero();
        assertThat(Permit.NONE.toString()).isEqualTo("Permit.NONE");
    }

    @Test
    void aSlotTakenByAConnectionThatALaterRuleRejectsIsReleasedByTheEvaluation() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: cap
                        concurrency-limit: {max: 1}
                      - name: deny-10
                        source: [10.0.0.0/8]
                        action: reject
                      - name: ok
                        source: [192.0.2.0/24]
                        action: accept
                """, "reject");
        Limiter cap = limiterOf(policy, "cap");

        for (int i = 0; i < 3; i++) {
            Verdict rejected = policy.evaluate(Requests.from("demo", "10.0.0.1"));
            assertThat(rejected.rule()).as("rejected by the later rule, never by the cap").isEqualTo("deny-10");
            assertThat(rejected.permit()).isSameAs(Permit.NONE);
        }
        for (int i = 0; i < 3; i++) {
            Verdict byDefault = policy.evaluate(Requests.from("demo", "203.0.113.1"));
            assertThat(byDefault.rule()).as("rejected by the default, never by the cap").isEqualTo("default");
            assertThat(byDefault.permit()).isSameAs(Permit.NONE);
        }
        assertThat(cap.trackedKeys()).isZero();
        Verdict accepted = policy.evaluate(Requests.from("demo", "192.0.2.1"));
        assertThat(accepted.rule()).isEqualTo("ok");
        assertThat(cap.trackedKeys()).isEqualTo(1);
    }

    @Test
    void slotsOfEarlierLimitersAreReleasedWhenALaterLimiterRejects() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: per-ip
                        concurrency-limit: {key: source-ip, max: 5}
                      - name: per-listener
                        concurrency-limit: {key: listener, max: 2}
                      - name: rate
                        rate-limit: {key: listener, rate: 1/m, burst: 3}
                """, "accept");
        Limiter perIp = limiterOf(policy, "per-ip");
        Limiter perListener = limiterOf(policy, "per-listener");

        Verdict a = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        Verdict b = policy.evaluate(Requests.from("demo", "10.0.0.2"));
        Verdict c = policy.evaluate(Requests.from("demo", "10.0.0.3"));
        assertThat(List.of(a.rule(), b.rule(), c.rule())).containsExactly("default", "default", "per-listener");
        assertThat(perIp.trackedKeys()).as("10.0.0.3's per-ip slot was given back").isEqualTo(2);

        a.permit().release();
        Verdict d = policy.evaluate(Requests.from("demo", "10.0.0.4"));
        assertThat(d.rule()).isEqualTo("default");
        Verdict e = policy.evaluate(Requests.from("demo", "10.0.0.5"));
        assertThat(e.rule()).isEqualTo("per-listener");
        b.permit().release();
        Verdict f = policy.evaluate(Requests.from("demo", "10.0.0.6"));
        assertThat(f.rule()).as("the rate limit's bucket is empty now").isEqualTo("rate");
        assertThat(perIp.trackedKeys()).isEqualTo(1);
        assertThat(perListener.trackedKeys()).isEqualTo(1);

        d.permit().release(); // one permit releases both of its slots
        assertThat(perIp.trackedKeys()).isZero();
        assertThat(perListener.trackedKeys()).isZero();
    }

    @Test
    void pastTheCapOnTrackedKeysNewKeysAreRejectedAndTheReasonSaysSo() throws PolicyException {
        registry = new LimiterRegistry(nanos::get, 2);
        ListenerPolicy policy = listener("""
                      - name: cap
                        concurrency-limit: {max: 10}
                """, "accept");

        Verdict a = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        Verdict b = policy.evaluate(Requests.from("demo", "10.0.0.2"));
        Verdict c = policy.evaluate(Requests.from("demo", "10.0.0.3"));
        Verdict again = policy.evaluate(Requests.from("demo", "10.0.0.1"));

        assertThat(List.of(a.rule(), b.rule(), c.rule(), again.rule())).containsExactly("default", "default", "cap", "default");
        assertThat(c.reason()).hasValueSatisfying(reason -> assertThat(reason).contains("tracking 2 source-ip keys, its cap"));
        a.permit().release();
        again.permit().release();
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.3")).rule()).isEqualTo("default");
    }

    @Test
    void concurrencyCountsIpv6ClientsByTheirSlash64() throws PolicyException {
        ListenerPolicy policy = listener("""
                      - name: per-client
                        concurrency-limit: {key: source-ip, max: 2}
                """, "accept");
        Limiter cap = limiterOf(policy, "per-client");

        Verdict a = policy.evaluate(Requests.from("demo", "2001:db8:5:6::1"));
        Verdict b = policy.evaluate(Requests.from("demo", "2001:db8:5:6:1:2:3:4"));
        Verdict c = policy.evaluate(Requests.from("demo", "2001:db8:5:6:ffff:ffff:ffff:fffe"));
        Verdict other = policy.evaluate(Requests.from("demo", "2001:db8:5:7::1"));

        assertThat(List.of(a.rule(), b.rule(), c.rule(), other.rule()))
                .containsExactly("default", "default", "per-client", "default");
        assertThat(c.reason()).contains("concurrency-limit reached: 2 open connections per source-ip");
        assertThat(cap.trackedKeys()).isEqualTo(2);
        a.permit().release();
        assertThat(policy.evaluate(Requests.from("demo", "2001:db8:5:6::99")).rule()).isEqualTo("default");
    }

    @Test
    void aFloodOfFreshKeysAtTheConcurrencyCapIsRefusedCountedAndChangesNoCount() throws PolicyException {
        registry = new LimiterRegistry(nanos::get, 2);
        ListenerPolicy policy = listener("""
                      - name: cap
                        concurrency-limit: {max: 2}
                """, "accept");
        Limiter cap = limiterOf(policy, "cap");
        Verdict a1 = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        Verdict a2 = policy.evaluate(Requests.from("demo", "10.0.0.1"));
        Verdict b1 = policy.evaluate(Requests.from("demo", "10.0.0.2"));

        for (int i = 0; i < 1000; i++) {
            assertThat(policy.evaluate(Requests.from("demo", "2001:db8:1:" + Integer.toHexString(i) + "::1")).reason())
                    .hasValue("concurrency-limit is tracking 2 source-ip keys, its cap: connections with a new key"
                            + " are rejected until others close");
        }

        assertThat(cap.refusedAtKeyCap()).isEqualTo(1000);
        assertThat(registry.refusedAtKeyCap()).isEqualTo(1000);
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.1")).rule()).as("still at its max").isEqualTo("cap");
        Verdict b2 = policy.evaluate(Requests.from("demo", "10.0.0.2"));
        assertThat(b2.rule()).as("its second slot").isEqualTo("default");
        assertThat(policy.evaluate(Requests.from("demo", "10.0.0.2")).rule()).isEqualTo("cap");
        for (Verdict v : List.of(a1, a2, b1, b2)) {
            v.permit().release();
        }
        assertThat(cap.trackedKeys()).isZero();
        assertThat(policy.evaluate(Requests.from("demo", "2001:db8:1:7::1")).rule()).isEqualTo("default");
    }

    @Test
    void permitsAreCountedRightUnderConcurrentUse() throws Exception {
        ListenerPolicy policy = listener("""
                      - name: cap
                        concurrency-limit: {key: listener, max: 3}
                """, "accept");
        Limiter cap = limiterOf(policy, "cap");
        int threads = 4;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger maxSeen = new java.util.concurrent.atomic.AtomicInteger();
            List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 20_000; i++) {
                        Verdict verdict = policy.evaluate(Requests.from("demo", "10.0.0.1"));
                        if (verdict.action() == InspectAction.ACCEPT) {
                            maxSeen.accumulateAndGet(open.incrementAndGet(), Math::max);
                            open.decrementAndGet();
                            verdict.permit().release();
                            verdict.permit().release();
                        }
                    }
                }));
            }
            for (java.util.concurrent.Future<?> future : futures) {
                future.get(30, TimeUnit.SECONDS);
            }
            assertThat(maxSeen.get()).isLessThanOrEqualTo(3);
            assertThat(cap.trackedKeys()).isZero();
            Verdict x = policy.evaluate(Requests.from("demo", "10.0.0.1"));
            Verdict y = policy.evaluate(Requests.from("demo", "10.0.0.1"));
            Verdict z = policy.evaluate(Requests.from("demo", "10.0.0.1"));
            assertThat(policy.evaluate(Requests.from("demo", "10.0.0.1")).rule()).as("no slot leaked or gained")
                    .isEqualTo("cap");
            List.of(x, y, z).forEach(v -> v.permit().release());
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- shadow limiters -----------------------------------------------------------------------

    @Test
    void aShadowRateLimitReportsWhatItWouldRejectWithItsOwnBucketsAndNeverRejects() throws PolicyException {
        List<Verdict> reports = new ArrayList<>();
        ListenerPolicy policy = listener("""
                      - name: tighter-rate
                        rate-limit: {rate: 1/m, burst: 1}
                        mode: shadow
                      - name: rate
                        rate-limit: {rate: 1/m, burst: 2}
                """, "accept");

        Verdict a = policy.evaluate(Requests.from("demo", "10.0.0.1"), (r, v) -> reports.add(v));
        Verdict b = policy.evaluate(Requests.from("demo", "10.0.0.1"), (r, v) -> reports.add(v));
        Verdict c = policy.evaluate(Requests.from("demo", "10.0.0.1"), (r, v) -> reports.add(v));

        assertThat(List.of(a.rule(), b.rule(), c.rule())).as("the enforcing limit's own bucket decides")
                .containsExactly("default", "default", "rate");
        assertThat(reports).extracting(Verdict::rule, Verdict::action).containsExactly(
                org.assertj.core.groups.Tuple.tuple("tighter-rate", InspectAction.REJECT),
                org.assertj.core.groups.Tuple.tuple("tighter-rate", InspectAction.REJECT));
        assertThat(reports.get(0).reason()).isPresent();
    }

    @Test
    void aShadowConcurrencyLimitCountsOpenConnectionsWithoutRejectingThem() throws PolicyException {
        List<Verdict> reports = new ArrayList<>();
        ListenerPolicy policy = listener("""
                      - name: cap-to-try
                        concurrency-limit: {max: 1}
                        mode: shadow
                """, "accept");
        Limiter shadowCap = limiterOf(policy, "cap-to-try");

        Verdict a = policy.evaluate(Requests.from("demo", "10.0.0.1"), (r, v) -> reports.add(v));
        Verdict b = policy.evaluate(Requests.from("demo", "10.0.0.1"), (r, v) -> reports.add(v));

        assertThat(a.action()).isEqualTo(InspectAction.ACCEPT);
        assertThat(b.action()).isEqualTo(InspectAction.ACCEPT);
        assertThat(reports).extracting(Verdict::rule).containsExactly("cap-to-try");
        assertThat(b.permit()).as("a would-be rejected connection takes no slot").isSameAs(Permit.NONE);
        a.permit().release();
        assertThat(shadowCap.trackedKeys()).isZero();
        Verdict c = policy.evaluate(Requests.from("demo", "10.0.0.1"), (r, v) -> reports.add(v));
        assertThat(reports).hasSize(1);
        c.permit().release();
    }
}
