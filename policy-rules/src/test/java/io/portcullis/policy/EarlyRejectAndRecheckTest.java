package io.portcullis.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.policy.net.CidrSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The leading source-only rejects the kernel can take, and the local-only recheck of live connections. */
class EarlyRejectAndRecheckTest {

    private static ListenerPolicy listener(String yaml) throws PolicyException {
        return Policy.parse(yaml, "rules.yaml").listener("db").orElseThrow();
    }

    private static List<String> ranges(CidrSet set) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < set.ipv4RangeCount(); i++) {
            out.add(Integer.toUnsignedString(set.ipv4First(i)) + "-" + Integer.toUnsignedString(set.ipv4Last(i)));
        }
        return out;
    }

    private static String range(String first, String last) {
        return Integer.toUnsignedString(ipv4(first)) + "-" + Integer.toUnsignedString(ipv4(last));
    }

    private static int ipv4(String dotted) {
        int v = 0;
        for (String part : dotted.split("\\.")) {
            v = v << 8 | Integer.parseInt(part);
        }
        return v;
    }

    @Test
    void leadingSourceOnlyRejectsAreCompiledUpToTheFirstOtherRule() throws PolicyException {
        EarlyRejectPlan plan = listener("""
                lists:
                  blocked: [192.0.2.0/24, 2001:db8::/32, "::ffff:198.51.100.7"]
                listeners:
                  db:
                    rules:
                      - name: deny-blocked
                        source: [list:blocked]
                        action: reject
                      - name: deny-more
                        source: [192.0.2.128/25, 192.0.3.0/24, 203.0.113.9]
                        action: reject
                      - name: office
                        source: [10.0.0.0/8]
                        action: accept
                      - name: deny-late
                        source: [172.16.0.0/12]
                        action: reject
                    default: reject
                """).earlyRejectPlan();
        assertThat(plan.rules()).containsExactly("deny-blocked", "deny-more");
        // merged: 192.0.2.0/24 and 192.0.3.0/24 are one range; the IPv4-mapped entry is IPv4
        assertThat(ranges(plan.ipv4())).containsExactly(range("192.0.2.0", "192.0.3.255"),
                range("198.51.100.7", "198.51.100.7"), range("203.0.113.9", "203.0.113.9"));
        assertThat(plan.ipv4().ipv6RangeCount()).isZero();
        assertThat(plan.userSpace()).containsExactly("the IPv6 sources of rule 'deny-blocked'",
                "rule 'office' does not reject (accept), and the 1 rule(s) after it");
    }

    @Test
    void everyKindOfStopIsNamed() throws PolicyException {
        String head = """
                listeners:
                  db:
                    rules:
                      - name: first
                        source: [192.0.2.1]
                        action: reject
                """;
        String tail = "    default: accept\n";
        assertThat(listener(head + """
                      - name: watch
                        source: [192.0.2.2]
                        action: reject
                        mode: shadow
                      - name: after
                        source: [192.0.2.3]
                        action: reject
                """ + tail).earlyRejectPlan().userSpace()).containsExactly("rule 'watch' runs in shadow mode, and the 1 rule(s) after it");
        assertThat(listener(head + """
                      - name: rate
                        source: [192.0.2.2]
                        rate-limit: {rate: 5/s}
                """ + tail).earlyRejectPlan().userSpace()).containsExactly("rule 'rate' is a limiter");
        assertThat(listener(head + """
                      - name: tls-only
                        source: [192.0.2.2]
                        port: [5432]
                        action: reject
                """ + tail).earlyRejectPlan().userSpace()).containsExactly("rule 'tls-only' has conditions besides source");
        assertThat(listener(head + """
                      - name: ask
                        source: [192.0.2.2]
                        action: pend
                """ + tail).earlyRejectPlan().userSpace()).containsExactly("rule 'ask' does not reject (pend)");
        EarlyRejectPlan onlyFirst = listener(head + tail).earlyRejectPlan();
        assertThat(onlyFirst.rules()).containsExactly("first");
        assertThat(onlyFirst.userSpace()).isEmpty();
    }

    /** {@code !list:x} rejects every IPv4 address outside x: its complement is compiled, IPv6 stays behind. */
    @Test
    void anExcludedListCompilesToItsComplement() throws PolicyException {
        EarlyRejectPlan plan = listener("""
                lists:
                  partners: [10.0.0.0/8, 192.168.1.0/24]
                listeners:
                  db:
                    rules:
                      - name: only-partners
                        source: ["!list:partners"]
                        action: reject
                    default: accept
                """).earlyRejectPlan();
        assertThat(ranges(plan.ipv4())).containsExactly(range("0.0.0.0", "9.255.255.255"),
                range("11.0.0.0", "192.168.0.255"), range("192.168.2.0", "255.255.255.255"));
        assertThat(plan.userSpace()).containsExactly("the IPv6 sources of rule 'only-partners'");
    }

    @Test
    void recheckDecidesLocallyAndLeavesPendsAndLimitersAlone() throws PolicyException {
        ListenerPolicy policy = listener("""
                listeners:
                  db:
                    rules:
                      - name: watch
                        source: [192.0.2.1]
                        action: reject
                        mode: shadow
                      - name: cap
                        source: [192.0.2.0/24]
                        concurrency-limit: {max: 1}
                      - name: deny
                        source: [192.0.2.2]
                        action: reject
                      - name: ask
                        source: [192.0.2.3]
                        action: pend
                      - name: office
                        source: [192.0.2.4]
                        action: accept
                    default: reject
                """);
        // shadow and limiter passed over: .1 falls through to the default
        assertThat(policy.recheck(Requests.from("db", "192.0.2.1"))).hasValue("default");
        assertThat(policy.recheck(Requests.from("db", "192.0.2.2"))).hasValue("deny");
        assertThat(policy.recheck(Requests.from("db", "192.0.2.3"))).isEmpty();
        assertThat(policy.recheck(Requests.from("db", "192.0.2.4"))).isEmpty();
        assertThat(policy.recheck(Requests.from("db", "192.0.2.4"))).isEmpty();
        // the rechecks took no slot: a real evaluation still gets the one, and holds it
        assertThat(policy.evaluate(Requests.from("db", "192.0.2.4")).rule()).isEqualTo("office");
        assertThat(policy.evaluate(Requests.from("db", "192.0.2.4")).rule()).isEqualTo("cap");
    }

    @Test
    void aListenerDroppedFromThePolicyRejectsAsANewConnectionWould() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(Policy.parse("""
                listeners:
                  other:
                    default: accept
                """, "rules.yaml"));
        assertThat(engine.recheck(Requests.from("db", "192.0.2.1"))).isEqualTo(Optional.of(PolicyEngine.NO_POLICY_RULE));
        assertThat(engine.recheck(Requests.from("other", "192.0.2.1"))).isEmpty();
    }
}
