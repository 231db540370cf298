package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.portcullis.gateway.admin.AdminPathSpellings;
import io.portcullis.gateway.admin.ListenersController;
import io.portcullis.gateway.admin.PendingController;
import io.portcullis.gateway.admin.RulesController;
import io.portcullis.core.Listener;
import io.portcullis.core.PendingInspection;
import io.portcullis.core.testing.TestClient;
import io.portcullis.core.InspectAction;
import java.net.SocketTimeoutException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The whole application on its embedded demo default, on loopback: the demo policy accepts 127.0.0.1,
 * rejects 127.0.0.2 and pends 127.0.0.3, in front of the built-in echo backend.
 */
class GatewayApplicationTest {

    private static ConfigurableApplicationContext context;
    private static Gateway gateway;
    private static Listener demo;
    private static int managementPort;

    @BeforeAll
    static void start() {
        context = new SpringApplicationBuilder(PortcullisApplication.class).run(
                "--server.port=0",
                // The documented form: an unset variable with the ':' default is no token, the admin API off.
                "--portcullis.admin.token=${PORTCULLIS_TEST_UNSET_VARIABLE:}",
                "--portcullis.demo.bind=127.0.0.1:0",
                "--portcullis.demo.echo-bind=127.0.0.1:0",
                "--portcullis.worker-threads=2");
        gateway = context.getBean(Gateway.class);
        demo = gateway.listener("demo").orElseThrow();
        managementPort = Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
    }

    @AfterAll
    static void stop() {
        if (context != null) {
            context.close();
        }
    }

    @Test
    void runsTheDemoWhenNoListenerIsConfigured() {
        assertThat(gateway.isDemo()).isTrue();
        assertThat(gateway.listeners()).extracting(Listener::name).containsExactly("demo");
        assertThat(gateway.echoServer()).isPresent();
    }

    @Test
    void acceptedClientGetsAMegabytePayloadBackIntact() throws Exception {
        byte[] payload = new byte[3 * 1024 * 1024 + 17];
        new Random(42).nextBytes(payload);
        try (TestClient client = TestClient.connect(loopback(1), demo.localAddress())) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    client.write(payload);
                    client.shutdownOutput();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] echoed = client.readExactly(payload.length, Duration.ofSeconds(20));
            client.expectEof(Duration.ofSeconds(5));
            writer.get(10, TimeUnit.SECONDS);
            assertThat(echoed.length).isEqualTo(payload.length);
            assertThat(Arrays.equals(echoed, payload)).as("echoed bytes equal the payload").isTrue();
        }
    }

    @Test
    void rejectedClientIsResetWithoutData() throws Exception {
        TestClient.expectRejected(loopback(2), demo.localAddress(), Duration.ofSeconds(5));
        assertThat(scrape()).containsPattern(
                "portcullis_verdicts_total\\{action=\"reject\",listener=\"demo\",rule=\"blocked-client\"\\} [1-9]");
    }

    @Test
    void pendedClientIsHeldUntilCompletedThenRelayed() throws Exception {
        try (TestClient client = TestClient.connect(loopback(3), demo.localAddress())) {
            client.write("held".getBytes());
            await().atMost(Duration.ofSeconds(5)).until(() -> demo.pendingCount() == 1);
            assertThatThrownBy(() -> client.readExactly(1, Duration.ofMillis(300)))
                    .as("a pended client gets no byte back before the verdict")
                    .isInstanceOf(SocketTimeoutException.class);
            List<PendingInspection> pending = demo.pending();
            assertThat(pending).hasSize(1);
            assertThat(pending.get(0).request().source().getAddress()).isEqualTo(loopback(3));
            assertThat(demo.inspectComplete(pending.get(0).request().id(), InspectAction.ACCEPT)).isTrue();
            assertThat(new String(client.readExactly(4))).isEqualTo("held");
        }
        assertThat(scrape()).containsPattern(
                "portcullis_pended_outcomes_total\\{listener=\"demo\",outcome=\"accept\"\\} [1-9]");
    }

    @Test
    void healthIsUp() throws Exception {
        HttpResponse<String> health = http("/actuator/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"status\":\"UP\"");
    }

    @Test
    void livenessAndReadinessGroups() throws Exception {
        HttpResponse<String> live = http("/actuator/health/liveness");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).contains("\"eventLoops\"").contains("\"transport\"");
        await().atMost(Duration.ofSeconds(10)).until(() -> http("/actuator/health/readiness").statusCode() == 200);
        assertThat(http("/actuator/health/readiness").body()).contains("\"gateway\"").contains("\"demo\"")
                .contains("\"backendsUp\":1");
        assertThat(scrape()).containsPattern("portcullis_backend_up\\{backend=\"127.0.0.1:\\d+\",listener=\"demo\"\\} 1");
    }

    @Test
    void thePendingGaugeSurvivesGarbageCollection() throws Exception {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        assertThat(scrape()).containsPattern("portcullis_pending_inspections\\{listener=\"demo\"\\} \\d+\\.0");
    }

    @Test
    void withoutATokenTheAdminApiIsOff() throws Exception {
        List<String> paths = new ArrayList<>(AdminPathSpellings.READS);
        paths.addAll(AdminPathSpellings.completions("1"));
        for (String path : paths) {
            for (String method : AdminPathSpellings.METHODS) {
                for (String authorization : new String[] {null, "Bearer anything-at-all-here"}) {
                    String json = method.equals("POST") ? "{\"action\":\"accept\"}" : null;
                    HttpResponse<String> r = AdminPathSpellings.send(managementPort, method, path, authorization, json);
                    assertThat(r.statusCode()).as("%s %s with %s", method, path, authorization).isEqualTo(404);
                    assertThat(r.body()).as("%s %s", method, path).isEmpty();
                }
            }
        }
        assertThat(http("/actuator/health").statusCode()).isEqualTo(200);
        assertThat(context.getBeanNamesForType(PendingController.class)).as("no admin route exists at all").isEmpty();
        assertThat(context.getBeanNamesForType(RulesController.class)).isEmpty();
        assertThat(context.getBeanNamesForType(ListenersController.class)).isEmpty();
    }

    private static String scrape() throws Exception {
        HttpResponse<String> r = http("/actuator/prometheus");
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    private static HttpResponse<String> http(String path) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path))
                .timeout(Duration.ofSeconds(10)).build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

}
