package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two configured listeners in one process, with a rules file on disk: one inspects (127.0.0.2 rejected,
 * 127.0.0.3 pended with a short deadline, others accepted), one does not inspect at all; the inspecting
 * one's first backend is dead, so every relay fails over.
 */
class MultiListenerApplicationTest {

    @AutoClose
    private static GatewayUnderTest gateway;
    private static Listener guarded;
    private static Listener open;
    private static MeterRegistry meters;

    @BeforeAll
    static void start() throws Exception {
        gateway = new GatewayUnderTest();
        String dead = "127.0.0.1:" + TestClient.deadPort().getPort();
        gateway.rules("""
                listeners:
                  guarded:
                    rules:
                      - name: blocked
                        source: [127.0.0.2]
                        action: reject
                      - name: wait
                        source: [127.0.0.3]
                        action: pend
                    default: accept
                """)
                .properties("portcullis.worker-threads=2")
                .addListener("guarded", "backends[0]=" + dead, "backends[1]=" + gateway.echoBackend(),
                        "inspect.timeout=300ms", "inspect.on-timeout=reject")
                .addListener("open", "conditional-accept=false")
                .addListener("broken", "conditional-accept=false", "backends[0]=" + dead,
                        "health-check.interval=200ms", "health-check.timeout=100ms", "health-check.fall=1")
                .addListener("routed", "conditional-accept=false", "backends[0]=" + dead,
                        "health-check.interval=200ms", "health-check.timeout=100ms", "health-check.fall=1",
                        "pools.api.backends[0]=" + gateway.echoBackend(), "pools.api.health-check.interval=200ms",
                        "pools.api.health-check.timeout=100ms")
                .start();
        guarded = gateway.listener("guarded");
        open = gateway.listener("open");
        meters = gateway.meters();
    }

    @Test
    void inspectingListenerAppliesItsRulesAndFailsOver() throws Exception {
        try (TestClient client = TestClient.connect(loopback(1), guarded.localAddress())) {
            client.write("through".getBytes());
            assertThat(new String(client.readExactly(7))).isEqualTo("through");
        }
        TestClient.expectRejected(loopback(2), guarded.localAddress(), Duration.ofSeconds(5));
        assertThat(meters.get("portcullis.backend.failures").tag("listener", "guarded").counter().count())
                .isGreaterThanOrEqualTo(1);
    }

    @Test
    void pendedClientIsResetAtTheDeadline() throws Exception {
        try (TestClient client = TestClient.connect(loopback(3), guarded.localAddress())) {
            client.write("never relayed".getBytes());
            client.expectReset(Duration.ofSeconds(5));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> meters.get("portcullis.pended.outcomes")
                .tags("listener", "guarded", "outcome", "timeout").counter().count() == 1);
        assertThat(guarded.pendingCount()).isZero();
    }

    @Test
    void aListenerWithNoBackendUpMakesTheGatewayNotReady() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> meters.get("portcullis.backend.up")
                .tag("listener", "broken").gauge().value() == 0);
        HttpResponse<String> readiness = gateway.get("/actuator/health/readiness");
        assertThat(readiness.statusCode()).isEqualTo(503);
        assertThat(readiness.body()).contains("OUT_OF_SERVICE").contains("\"broken\"");
        try (TestClient client = TestClient.connect(loopback(1), gateway.listener("broken").localAddress())) {
            client.expectClosed(Duration.ofSeconds(5));
        }
        assertThat(meters.get("portcullis.backend.unavailable").tag("listener", "broken").counter().count()).isPositive();
    }

    /** A listener serves while any of its pools has a backend up: its default pool being down does not count it out. */
    @Test
    void aListenerWhoseDefaultPoolIsDownIsReadyWhileANamedPoolIsUp() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> meters.get("portcullis.backend.up")
                .tags("listener", "routed", "pool", "default").gauge().value() == 0);
        HttpResponse<String> readiness = gateway.get("/actuator/health/readiness");
        JsonNode listeners = JsonMapper.builder().build().readTree(readiness.body()).at("/components/gateway/details/listeners");
        JsonNode routed = listeners.get("routed");
        assertThat(routed.get("backendsUp").asInt()).isEqualTo(1);
        assertThat(routed.get("backends").asInt()).isEqualTo(2);
        assertThat(routed.at("/pools/default/backendsUp").asInt()).isZero();
        assertThat(routed.at("/pools/api/backendsUp").asInt()).isEqualTo(1);
        assertThat(routed.at("/pools/api/backends").asInt()).isEqualTo(1);
        // Only listeners with named pools list them; 'broken' (no backend up, no other pool) keeps it out of service.
        assertThat(listeners.get("broken").has("pools")).isFalse();
        assertThat(listeners.get("broken").get("backendsUp").asInt()).isZero();
        assertThat(readiness.statusCode()).isEqualTo(503);
    }

    @Test
    void listenerWithoutInspectionAcceptsEveryone() throws Exception {
        try (TestClient client = TestClient.connect(loopback(2), open.localAddress())) {
            client.write("open".getBytes());
            assertThat(new String(client.readExactly(4))).isEqualTo("open");
        }
        assertThat(meters.find("portcullis.verdicts").tag("listener", "open").counters()).isEmpty();
    }
}
