package io.portcullis.policy;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class PolicyTest {

    private static Policy demo;

    @BeforeAll
    static void loadDemo() throws PolicyException, URISyntaxException {
        demo = Policy.load(demoFile());
    }

    static Path demoFile() throws URISyntaxException {
        return Path.of(PolicyTest.class.getResource("/rules/demo.yaml").toURI());
    }

    private static Verdict evaluate(String listener, String source) {
        return demo.listener(listener).orElseThrow().evaluate(Requests.from(listener, source));
    }

    @Test
    void describesWhatItLoaded() throws URISyntaxException {
        assertThat(demo.source()).isEqualTo(demoFile().toString());
        assertThat(demo.listenerNames()).containsExactly("postgres", "ssh");
        assertThat(demo.listNames()).containsExactly("office", "blocked", "monitoring");
        ListenerPolicy postgres = demo.listener("postgres").orElseThrow();
        assertThat(postgres.listener()).isEqualTo("postgres");
        assertThat(postgres.ruleNames()).containsExactly("deny-blocked", "local", "office", "monitoring-ask");
        assertThat(postgres.defaultAction()).isEqualTo(InspectAction.REJECT);
        assertThat(postgres.rules().get(1).line()).isEqualTo(17);
        assertThat(postgres.rules().get(1).column()).as("where the rule's first key starts").isEqualTo(9);
        assertThat(demo.listener("redis")).isEmpty();
    }

    @ParameterizedTest
    @CsvSource({
            "203.0.113.9,    REJECT, deny-blocked",
            "2001:db8:bad::1, REJECT, deny-blocked",   // in office too: the earlier rule wins
            "127.0.0.1,      ACCEPT, local",
            "::1,            ACCEPT, local",
            "127.0.0.2,      REJECT, default",
            "192.0.2.0,      ACCEPT, office",
            "192.0.2.255,    ACCEPT, office",
            "198.51.100.7,   ACCEPT, office",
            "198.51.100.8,   REJECT, default",
            "2001:db8::77,   ACCEPT, office",
            "2001:db9::77,   REJECT, default",
            "10.20.0.1,      ACCEPT, office",          // 10.0.0.0/8 comes before monitoring
            "172.16.0.1,     REJECT, default",
    })
    void firstMatchingRuleDecidesElseTheDefault(String source, InspectAction action, String rule) {
        assertThat(evaluate("postgres", source)).isEqualTo(new Verdict(action, rule));
    }

    @Test
    void ruleOrderDecides() throws PolicyException {
        Policy policy = Policy.parse("""
                listeners:
                  demo:
                    rules:
                      - name: narrow
                        source: [10.1.0.0/16]
                        action: pend
                      - name: wide
                        source: [10.0.0.0/8]
                        action: reject
                    default: accept
                """, "order.yaml");
        ListenerPolicy demoListener = policy.listener("demo").orElseThrow();

        assertThat(demoListener.evaluate(Requests.from("demo", "10.1.2.3"))).isEqualTo(new Verdict(InspectAction.PEND, "narrow"));
        assertThat(demoListener.evaluate(Requests.from("demo", "10.2.2.3"))).isEqualTo(new Verdict(InspectAction.REJECT, "wide"));
        assertThat(demoListener.evaluate(Requests.from("demo", "11.0.0.1"))).isEqualTo(new Verdict(InspectAction.ACCEPT, "default"));
    }

    @Test
    void aListenerWithoutRulesGivesItsDefault() throws PolicyException {
        Policy policy = Policy.parse("listeners:\n  open:\n    default: accept\n", "open.yaml");

        assertThat(policy.listener("open").orElseThrow().evaluate(Requests.from("open", "192.0.2.1")))
                .isEqualTo(new Verdict(InspectAction.ACCEPT, Verdict.DEFAULT_RULE));
        assertThat(policy.listener("open").orElseThrow().ruleNames()).isEmpty();
    }

    @Test
    void ipv4MappedSourceMatchesIpv4Entries() throws Exception {
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 10};
        InetAddress address = Inet6Address.getByAddress(null, mapped, -1);
        assertThat(address).as("a real IPv6 address object, not converted by the JDK").isInstanceOf(Inet6Address.class);

        Verdict verdict = demo.listener("postgres").orElseThrow().evaluate(Requests.from("postgres", address));

        assertThat(verdict).isEqualTo(new Verdict(InspectAction.ACCEPT, "office"));
    }

    @ParameterizedTest
    @CsvSource({
            "192.0.2.10,   ACCEPT, default",
            "2001:db8::5,  ACCEPT, default",
            "203.0.113.9,  REJECT, outside-office",
            "::1,          REJECT, outside-office",
    })
    void negatedListMatchesAddressesOutsideIt(String source, InspectAction action, String rule) {
        assertThat(evaluate("ssh", source)).isEqualTo(new Verdict(action, rule));
    }

    @Test
    void unresolvedSourceMatchesNoSourceRule() {
        InspectRequest request = InspectRequest.of(InspectId.next(), "ssh",
                InetSocketAddress.createUnresolved("client.example", 40000),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 22), Instant.now());

        assertThat(demo.listener("ssh").orElseThrow().evaluate(request))
                .isEqualTo(new Verdict(InspectAction.ACCEPT, "default"));
    }

    @Test
    void evaluationAllocatesNoMoreThanTheAddressBytes() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        if (!threads.isThreadAllocatedMemorySupported()) {
            return;
        }
        threads.setThreadAllocatedMemoryEnabled(true);
        ListenerPolicy postgres = demo.listener("postgres").orElseThrow();
        InspectRequest v4 = Requests.from("postgres", "172.16.0.1");   // walks every rule to the default
        InspectRequest v6 = Requests.from("postgres", "2001:db9::1");
        for (int i = 0; i < 20_000; i++) {
            postgres.evaluate(v4);
            postgres.evaluate(v6);
        }
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        int rounds = 100_000;
        for (int i = 0; i < rounds; i++) {
            postgres.evaluate(v4);
            postgres.evaluate(v6);
        }
        long perEvaluation = (threads.getThreadAllocatedBytes(thread) - before) / (2L * rounds);

        // byte[4] is 16-24 bytes, byte[16] 32 bytes: anything more would be a per-evaluation object
        assertThat(perEvaluation).isLessThanOrEqualTo(32);
    }
}
