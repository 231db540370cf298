package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.core.demo.EchoServer;
import io.portcullis.core.EventLoops;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two configured listeners in one process, with a rules file on disk: one inspects (127.0.0.2 rejected,
 * 127.0.0.3 pended with a short deadline, others accepted), one does not inspect at all; the inspecting
 * one's first backend is dead, so every relay fails over.
 */
class MultiListenerApplicationTest {

    @TempDir
    static Path dir;

    private static EventLoops backendLoops;
    private static EchoServer backend;
    private static ConfigurableApplicationContext context;
    private static Listener guarded;
    private static Listener open;
    private static MeterRegistry meters;

    @BeforeAll
    static void start() throws Exception {
        backendLoops = EventLoops.create(1);
        backend = new EchoServer(backendLoops, new InetSocketAddress("127.0.0.1", 0)).start();
        Path rules = dir.resolve("rules.yaml");
        Files.writeString(rules, """
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
                """);
        InetSocketAddress dead = TestClient.deadPort();
        String echo = "127.0.0.1:" + backend.localAddress().getPort();
        context = new SpringApplicationBuilder(PortcullisApplication.class).run(
                "--server.port=0",
                "--portcullis.rules=file:" + rules,
                "--portcullis.worker-threads=2",
                "--portcullis.listeners[0].name=guarded",
                "--portcullis.listeners[0].bind=127.0.0.1:0",
                "--portcullis.listeners[0].backends[0]=127.0.0.1:" + dead.getPort(),
                "--portcullis.listeners[0].backends[1]=" + echo,
                "--portcullis.listeners[0].inspect.timeout=300ms",
                "--portcullis.listeners[0].inspect.on-timeout=reject",
                "--portcullis.listeners[1].name=open",
                "--portcullis.listeners[1].bind=127.0.0.1:0",
                "--portcullis.listeners[1].conditional-accept=false",
                "--portcullis.listeners[1].backends[0]=" + echo,
                "--portcullis.listeners[2].name=broken",
                "--portcullis.listeners[2].bind=127.0.0.1:0",
                "--portcullis.listeners[2].conditional-accept=false",
                "--portcullis.listeners[2].backends[0]=127.0.0.1:" + dead.getPort(),
                "--portcullis.listeners[2].health-check.interval=200ms",
                "--portcullis.listeners[2].health-check.timeout=100ms",
                "--portcullis.listeners[2].health-check.fall=1");
        Gateway gateway = context.getBean(Gateway.class);
        guarded = gateway.listener("guarded").orElseThrow();
        open = gateway.listener("open").orElseThrow();
        meters = context.getBean(MeterRegistry.class);
    }

    @AfterAll
    static void stop() {
        if (context != null) {
            context.close();
        }
        if (backend != null) {
            backend.close();
        }
        if (backendLoops != null) {
            backendLoops.close();
        }
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
        int port = Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
        java.net.http.HttpResponse<String> readiness = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/actuator/health/readiness"))
                        .timeout(Duration.ofSeconds(10)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(readiness.statusCode()).isEqualTo(503);
        assertThat(readiness.body()).contains("OUT_OF_SERVICE").contains("\"broken\"");
        try (TestClient client = TestClient.connect(loopback(1), context.getBean(Gateway.class).listener("broken")
                .orElseThrow().localAddress())) {
            client.expectClosed(Duration.ofSeconds(5));
        }
        assertThat(meters.get("portcullis.backend.unavailable").tag("listener", "broken").counter().count()).isPositive();
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
