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
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.net.SocketTimeoutException;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole application on its embedded demo default, on loopback: the demo policy accepts 127.0.0.1,
 * rejects 127.0.0.2 and pends 127.0.0.3, in front of the built-in echo backend.
 */
class GatewayApplicationTest {

    @AutoClose
    private static GatewayUnderTest gateway;
    private static Listener demo;

    @BeforeAll
    static void start() throws Exception {
        gateway = new GatewayUnderTest().demo().properties(
                // The documented form: an unset variable with the ':' default is no token, the admin API off.
                "portcullis.admin.token=${PORTCULLIS_TEST_UNSET_VARIABLE:}",
                "portcullis.worker-threads=2").start();
        demo = gateway.listener("demo");
    }

    @Test
    void runsTheDemoWhenNoListenerIsConfigured() {
        Gateway running = gateway.bean(Gateway.class);
        assertThat(running.isDemo()).isTrue();
        assertThat(running.listeners()).extracting(Listener::name).containsExactly("demo");
        assertThat(running.echoServer()).isPresent();
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
        HttpResponse<String> health = gateway.get("/actuator/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"status\":\"UP\"");
    }

    @Test
    void livenessAndReadinessGroups() throws Exception {
        HttpResponse<String> live = gateway.get("/actuator/health/liveness");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).contains("\"eventLoops\"").contains("\"transport\"");
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.get("/actuator/health/readiness").statusCode() == 200);
        assertThat(gateway.get("/actuator/health/readiness").body()).contains("\"gateway\"").contains("\"demo\"")
                .contains("\"backendsUp\":1");
        assertThat(scrape()).containsPattern("portcullis_backend_up\\{backend=\"127.0.0.1:\\d+\",listener=\"demo\",pool=\"default\"\\} 1");
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
                    HttpResponse<String> r = AdminPathSpellings.send(gateway.serverPort(), method, path, authorization, json);
                    assertThat(r.statusCode()).as("%s %s with %s", method, path, authorization).isEqualTo(404);
                    assertThat(r.body()).as("%s %s", method, path).isEmpty();
                }
            }
        }
        assertThat(gateway.get("/actuator/health").statusCode()).isEqualTo(200);
        assertThat(gateway.context().getBeanNamesForType(PendingController.class)).as("no admin route exists at all").isEmpty();
        assertThat(gateway.context().getBeanNamesForType(RulesController.class)).isEmpty();
        assertThat(gateway.context().getBeanNamesForType(ListenersController.class)).isEmpty();
    }

    private static String scrape() throws Exception {
        HttpResponse<String> r = gateway.get("/actuator/prometheus");
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }
}
