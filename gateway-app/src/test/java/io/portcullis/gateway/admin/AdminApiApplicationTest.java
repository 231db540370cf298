package io.portcullis.gateway.admin;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.core.Listener;
import io.portcullis.gateway.testing.GatewayUnderTest;
import io.portcullis.core.testing.TestClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The operators' side of pend: list the pended, complete one, on the demo gateway with a token set. */
class AdminApiApplicationTest {

    private static final String TOKEN = "operator-token-for-tests";
    @AutoClose
    private static GatewayUnderTest gateway;
    private static Listener demo;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        gateway = new GatewayUnderTest().demo()
                .properties("portcullis.admin.token=" + TOKEN, "portcullis.worker-threads=2").start();
        demo = gateway.listener("demo");
        port = gateway.serverPort();
    }

    @Test
    void operatorCompletesAPendedConnection() throws Exception {
        try (TestClient client = TestClient.connect(loopback(3), demo.localAddress())) {
            client.write("waiting".getBytes());
            client.shutdownOutput();
            await().atMost(Duration.ofSeconds(5)).until(() -> demo.pending().stream().anyMatch(p -> p.inputShut()));

            HttpResponse<String> pending = call("GET", "/admin/pending", TOKEN, null);
            assertThat(pending.statusCode()).isEqualTo(200);
            assertThat(pending.body()).contains("\"listener\":\"demo\"").contains("\"rule\":\"needs-approval\"")
                    .contains("127.0.0.3").contains("\"heldBytes\":7").contains("\"halfClosed\":true");
            Matcher id = Pattern.compile("\"id\":\"(\\d+)\"").matcher(pending.body());
            assertThat(id.find()).isTrue();

            HttpResponse<String> bad = call("POST", "/admin/pending/" + id.group(1), TOKEN, "{\"action\":\"maybe\"}");
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(bad.body()).contains("expected accept or reject");

            HttpResponse<String> accepted = call("POST", "/admin/pending/" + id.group(1), TOKEN, "{\"action\":\"accept\"}");
            assertThat(accepted.statusCode()).isEqualTo(200);
            assertThat(new String(client.readExactly(7))).isEqualTo("waiting");

            HttpResponse<String> again = call("POST", "/admin/pending/" + id.group(1), TOKEN, "{\"action\":\"reject\"}");
            assertThat(again.statusCode()).as("already ended").isEqualTo(404);
        }
    }

    @Test
    void operatorRejectsAPendedConnection() throws Exception {
        try (TestClient client = TestClient.connect(loopback(3), demo.localAddress())) {
            await().atMost(Duration.ofSeconds(5)).until(() -> demo.pending().size() == 1);
            String id = demo.pending().get(0).request().id().toString();
            assertThat(call("POST", "/admin/pending/" + id, TOKEN, "{\"action\":\"reject\"}").statusCode()).isEqualTo(200);
            client.expectReset(Duration.ofSeconds(5));
        }
    }

    @Test
    void everyAdminRouteWantsTheToken() throws Exception {
        for (String path : new String[] {"/admin/pending", "/admin/rules", "/admin/listeners"}) {
            assertThat(call("GET", path, null, null).statusCode()).as(path).isEqualTo(401);
            assertThat(call("GET", path, "not-it", null).statusCode()).as(path).isEqualTo(401);
        }
        assertThat(call("POST", "/admin/pending/1", null, "{\"action\":\"accept\"}").statusCode()).isEqualTo(401);
        assertThat(call("GET", "/actuator/health", null, null).statusCode()).as("health stays open").isEqualTo(200);
    }

    @Test
    void everySpellingOfAnAdminPathWantsTheToken() throws Exception {
        for (String path : AdminPathSpellings.READS) {
            for (String method : AdminPathSpellings.METHODS) {
                for (String authorization : new String[] {null, "Bearer not-it", "Bearer ", "Basic " + TOKEN, TOKEN}) {
                    HttpResponse<String> r = AdminPathSpellings.send(port, method, path, authorization, null);
                    assertThat(r.statusCode()).as("%s %s with %s", method, path, authorization).isEqualTo(401);
                    assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"portcullis\"");
                    assertThat(r.body()).as("%s %s", method, path).isEmpty();
                }
            }
        }
    }

    @Test
    void withTheTokenAnAmbiguousSpellingIsRefused() throws Exception {
        // The router would take these for admin routes, and an endpoint for something else (the health endpoint
        // failed with a 500 on /actuator/health/../env): no route is spelt so, they are refused.
        for (String path : new String[] {"/%61dmin/pending", "/admin;x/pending", "/admin/pending;x", "/%61%64%6D%69%6E/listeners",
                "/admin;/listeners", "//admin/pending", "/admin/./pending", "/admin/../admin/pending", "/admin%2Fpending",
                "/actuator/health/../env", "/actuator/health/../../admin/pending", "/actuator/health/%2e%2e/env",
                "/admin/pending/.", "/admin/pending/..", "/%2561dmin/pending"}) {
            HttpResponse<String> r = call("GET", path, TOKEN, null);
            assertThat(r.statusCode()).as(path).isEqualTo(400);
            assertThat(r.body()).as(path).isEmpty();
        }
        assertThat(call("GET", "/admin/listeners", TOKEN, null).body()).contains("\"name\":\"demo\"");
        assertThat(call("GET", "/admin/pending", TOKEN, null).statusCode()).isEqualTo(200);
        // Dots inside a name are not a dot segment.
        assertThat(call("GET", "/admin/x.y", TOKEN, null).statusCode()).isEqualTo(404);
    }

    @Test
    void noSpellingOfACompletionCompletesWithoutTheToken() throws Exception {
        try (TestClient client = TestClient.connect(loopback(3), demo.localAddress())) {
            client.write("held".getBytes());
            await().atMost(Duration.ofSeconds(5)).until(() -> demo.pendingCount() == 1);
            String id = demo.pending().get(0).request().id().toString();
            for (String path : AdminPathSpellings.completions(id)) {
                for (String action : new String[] {"accept", "reject"}) {
                    HttpResponse<String> r = AdminPathSpellings.send(port, "POST", path, null, "{\"action\":\"" + action + "\"}");
                    assertThat(r.statusCode()).as("POST %s %s", path, action).isEqualTo(401);
                }
            }
            // Still pended: an inspection ends once, so the operator's completion succeeds only if none came before.
            assertThat(demo.pending()).extracting(p -> p.request().id().toString()).containsExactly(id);
            assertThat(call("POST", "/admin/pending/" + id, TOKEN, "{\"action\":\"reject\"}").statusCode()).isEqualTo(200);
            client.expectReset(Duration.ofSeconds(5));
        }
    }

    @Test
    void probesAndScrapesNeedNoToken() throws Exception {
        for (String path : new String[] {"/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness",
                "/actuator/prometheus"}) {
            assertThat(call("GET", path, null, null).statusCode()).as(path).isIn(200, 503);
        }
        // Only those exact spellings: anything else the router might take for them needs the token.
        for (String path : new String[] {"/actuator", "/actuator/health/", "/actuator/health;x", "/actuator/%68ealth",
                "//actuator/health", "/actuator/./health", "/ACTUATOR/health", "/actuator/env", "/actuator/info", "/", "/nothing"}) {
            assertThat(call("GET", path, null, null).statusCode()).as(path).isEqualTo(401);
        }
        // The actuator exposes health and prometheus only: the token opens nothing more.
        for (String path : new String[] {"/actuator/info", "/actuator/env", "/actuator/beans", "/actuator/heapdump"}) {
            assertThat(call("GET", path, TOKEN, null).statusCode()).as(path).isEqualTo(404);
        }
    }

    @Test
    void rulesAndListenersAreShown() throws Exception {
        HttpResponse<String> rules = call("GET", "/admin/rules", TOKEN, null);
        assertThat(rules.statusCode()).isEqualTo(200);
        assertThat(rules.body()).contains("blocked-client", "needs-approval", "local-clients", "\"default\":\"reject\"");
        HttpResponse<String> listeners = call("GET", "/admin/listeners", TOKEN, null);
        assertThat(listeners.body()).contains("\"name\":\"demo\"").contains("\"conditionalAccept\":true");
        HttpResponse<String> reload = call("POST", "/admin/rules/reload", TOKEN, null);
        assertThat(reload.statusCode()).as("the demo policy is not a file").isEqualTo(409);
    }

    static HttpResponse<String> call(String method, String path, String token, String json) throws Exception {
        return AdminPathSpellings.send(port, method, path, token == null ? null : "Bearer " + token, json);
    }
}
