package io.portcullis.gateway.decision;

import static io.portcullis.gateway.decision.DecisionServer.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.testing.AuditCapture;
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Named backend pools on a running gateway: rules, decision services (both formats) and operators send a
 * connection to a pool by name, and every way a name can be wrong ends as the contract says. Each backend answers
 * with its own name, so the client reads where it went. Clients choose their rule by loopback source address.
 */
class PoolRoutingApplicationTest {

    private static final Duration DEADLINE = Duration.ofSeconds(5);
    private static final String TOKEN = "operator-token-for-pool-tests";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(DEADLINE).build();

    private static final String RULES = """
            listeners:
              gate:
                rules:
                  - name: to-api
                    source: [127.0.0.2]
                    action: accept
                    route: api
                  - name: to-batch
                    source: [127.0.0.3]
                    action: accept
                    route: batch
                  - name: to-default
                    source: [127.0.0.4]
                    action: accept
                    route: default
                  - name: ask-authz
                    source: [127.0.1.0/24]
                    action: pend
                    decision: authz
                    route: batch
                  - name: ask-opa
                    source: [127.0.2.0/24]
                    action: pend
                    decision: opa
                  - name: ask-operator
                    source: [127.0.3.0/24]
                    action: pend
                    route: batch
                    timeout: 30s
                default: accept
            """;

    private static IdentityBackend defaultBackend;
    private static IdentityBackend apiBackend;
    private static IdentityBackend batchBackend;
    private static InetSocketAddress deadMember;
    private static DecisionServer service;
    private static GatewayUnderTest gateway;
    private static Listener listener;
    private static MeterRegistry meters;
    private static AuditCapture audit;

    @BeforeAll
    static void start() throws Exception {
        defaultBackend = new IdentityBackend("default-1");
        apiBackend = new IdentityBackend("api-1");
        batchBackend = new IdentityBackend("batch-1");
        deadMember = TestClient.deadPort();
        service = DecisionServer.start();
        gateway = new GatewayUnderTest()
                .rules(RULES)
                .addListener("gate", "backends[0]=" + defaultBackend.hostPort(),
                        "inspect.timeout=10s", "inspect.on-timeout=reject",
                        // api: a live member and one that refuses; a quick check marks the dead one down.
                        "pools.api.backends[0]=" + apiBackend.hostPort(),
                        "pools.api.backends[1]=127.0.0.1:" + deadMember.getPort(),
                        "pools.api.health-check.interval=100ms", "pools.api.health-check.timeout=50ms",
                        "pools.api.health-check.fall=1", "pools.api.health-check.rise=1",
                        "pools.batch.backends[0]=" + batchBackend.hostPort(),
                        "pools.batch.balance=least-connections")
                .properties("portcullis.worker-threads=2", "portcullis.admin.token=" + TOKEN,
                        "portcullis.decision-services.authz.url=" + service.url("/decide"),
                        "portcullis.decision-services.authz.timeout=2s",
                        "portcullis.decision-services.authz.on-failure=reject",
                        "portcullis.decision-services.opa.type=opa",
                        "portcullis.decision-services.opa.url=" + service.url("/opa"),
                        "portcullis.decision-services.opa.timeout=2s",
                        "portcullis.decision-services.opa.on-failure=reject",
                        "resilience4j.retry.configs.default.max-attempts=1")
                .start();
        listener = gateway.listener("gate");
        meters = gateway.meters();
        audit = new AuditCapture();
        // The dead member of api is down before any test relies on it being skipped.
        await().atMost(DEADLINE).until(() -> backendUp("api", "127.0.0.1:" + deadMember.getPort()) == 0);
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {gateway, audit, service, defaultBackend, apiBackend, batchBackend}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // best effort
            }
        }
        TestClient.freeDeadPort(deadMember.getPort());
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    private static InetAddress ip(int third, int fourth) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, (byte) third, (byte) fourth});
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Connects from {@code from}, says hello and returns the name of the backend that answered; null on a reset. */
    private static String backendFor(InetAddress from) throws IOException {
        try (TestClient client = TestClient.connect(from, listener.localAddress())) {
            return hello(client);
        }
    }

    private static String hello(TestClient client) throws IOException {
        try {
            client.write("hello\n".getBytes(StandardCharsets.US_ASCII));
            return IdentityBackend.readLine(client.socket());
        } catch (SocketException e) {
            return null;
        }
    }

    private static double backendUp(String pool, String backend) {
        return meters.get("portcullis.backend.up").tags("listener", "gate", "pool", pool, "backend", backend).gauge().value();
    }

    /** A counter's count; 0 while it does not exist (a backend that never failed has none). */
    private static double counter(String name, String... tags) {
        io.micrometer.core.instrument.Counter counter = meters.find(name).tags(tags).counter();
        return counter == null ? 0 : counter.count();
    }

    private static JsonNode auditOf(InetAddress from) {
        await().atMost(DEADLINE).until(() -> audit.last(from.getHostAddress()).isPresent());
        return audit.last(from.getHostAddress()).orElseThrow();
    }

    private static HttpResponse<String> admin(String method, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.serverPort() + path))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + TOKEN);
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    // ---- rules -----------------------------------------------------------------------------------------

    @Test
    void anAcceptRuleSendsItsConnectionsToItsPool() throws Exception {
        assertThat(backendFor(ip(0, 2))).isEqualTo("api-1");
        assertThat(backendFor(ip(0, 3))).isEqualTo("batch-1");
        assertThat(backendFor(ip(0, 4))).as("route: default is the listener's own backends").isEqualTo("default-1");
        assertThat(backendFor(ip(0, 5))).as("no route: the default pool").isEqualTo("default-1");

        assertThat(auditOf(ip(0, 2)).get("route").asString()).isEqualTo("api");
        assertThat(auditOf(ip(0, 5)).has("route")).as("no route, no field").isFalse();
    }

    @Test
    void aDownMemberOfAPoolIsSkippedAndTheGaugeSaysWhichPool() throws Exception {
        double failures = counter("portcullis.backend.failures", "listener", "gate",
                "backend", "127.0.0.1:" + deadMember.getPort());
        for (int i = 0; i < 4; i++) {
            assertThat(backendFor(ip(0, 2))).isEqualTo("api-1");
        }
        // Round robin over two members would have tried the dead one twice, had the check not marked it down.
        assertThat(counter("portcullis.backend.failures", "listener", "gate", "backend", "127.0.0.1:" + deadMember.getPort()))
                .isEqualTo(failures);
        assertThat(backendUp("api", apiBackend.hostPort())).isEqualTo(1);
        assertThat(backendUp("default", defaultBackend.hostPort())).isEqualTo(1);
        assertThat(backendUp("batch", batchBackend.hostPort())).isEqualTo(1);
        assertThat(gateway.get("/actuator/prometheus").body()).containsPattern(
                "portcullis_backend_up\\{backend=\"127.0.0.1:" + deadMember.getPort() + "\",listener=\"gate\",pool=\"api\"\\} 0");
    }

    // ---- decision services -----------------------------------------------------------------------------

    @Test
    void anHttpDecisionNamesThePoolElseThePendRulesRouteApplies() throws Exception {
        InetAddress named = ip(1, 1);
        InetAddress unnamed = ip(1, 2);
        service.on(named.getHostAddress(), ok("{\"action\":\"accept\",\"route\":\"api\"}"));
        service.on(unnamed.getHostAddress(), ok("{\"action\":\"accept\"}"));

        assertThat(backendFor(named)).isEqualTo("api-1");
        assertThat(backendFor(unnamed)).as("the rule's route: batch").isEqualTo("batch-1");
        assertThat(auditOf(named).get("route").asString()).isEqualTo("api");
        assertThat(auditOf(unnamed).get("route").asString()).isEqualTo("batch");
    }

    @Test
    void anOpaDecisionNamesThePool() throws Exception {
        InetAddress from = ip(2, 1);
        service.on(from.getHostAddress(), ok("{\"result\":{\"allow\":true,\"route\":\"batch\"}}"));
        assertThat(backendFor(from)).isEqualTo("batch-1");

        InetAddress denied = ip(2, 2);
        service.on(denied.getHostAddress(), ok("{\"result\":{\"allow\":false,\"route\":\"batch\"}}"));
        assertThat(backendFor(denied)).as("a route with a deny is no accept").isNull();
    }

    @Test
    void aDecisionNamingNoPoolOfTheListenerIsAFailureThatOnFailureDecides() throws Exception {
        double failures = counter("portcullis.pended.outcomes", "listener", "gate", "outcome", "failure");
        double serviceFailures = counter("portcullis.decision.requests", "service", "authz", "outcome", "failure");
        for (String answer : new String[] {
                "{\"action\":\"accept\",\"route\":\"nope\"}",       // no such pool
                "{\"action\":\"accept\",\"route\":\"API\"}",        // not how a pool is spelt
                "{\"action\":\"accept\",\"route\":7}",              // not a string
                "{\"action\":\"accept\",\"route\":\"../api\"}"}) {
            InetAddress from = ip(1, 10 + answer.length() % 200);
            service.on(from.getHostAddress(), ok(answer));
            assertThat(backendFor(from)).as("on-failure reject resets %s", answer).isNull();
        }
        await().atMost(DEADLINE).until(() -> counter("portcullis.pended.outcomes", "listener", "gate", "outcome", "failure")
                == failures + 4);
        assertThat(counter("portcullis.decision.requests", "service", "authz", "outcome", "failure"))
                .isEqualTo(serviceFailures + 4);
        JsonNode line = auditOf(ip(1, 10 + "{\"action\":\"accept\",\"route\":\"nope\"}".length() % 200));
        assertThat(line.get("reason").asString()).contains("route 'nope' is not a backend pool of listener 'gate'")
                .contains("api, batch, default");
    }

    // ---- operators -------------------------------------------------------------------------------------

    @Test
    void anOperatorAcceptsIntoANamedPoolAndAnUnknownOneIsRefused() throws Exception {
        try (TestClient client = TestClient.connect(ip(3, 1), listener.localAddress())) {
            await().atMost(DEADLINE).until(() -> !listener.pending().isEmpty());
            HttpResponse<String> pending = admin("GET", "/admin/pending", null);
            assertThat(pending.body()).contains("\"rule\":\"ask-operator\"").contains("\"route\":\"batch\"");
            Matcher id = Pattern.compile("\"id\":\"(\\d+)\"[^}]*127\\.0\\.3\\.1").matcher(pending.body());
            assertThat(id.find()).isTrue();
            String path = "/admin/pending/" + id.group(1);

            HttpResponse<String> unknown = admin("POST", path, "{\"action\":\"accept\",\"route\":\"nope\"}");
            assertThat(unknown.statusCode()).isEqualTo(422);
            assertThat(unknown.body()).contains("route 'nope' is not a backend pool of listener 'gate'")
                    .contains("api, batch, default");
            HttpResponse<String> onReject = admin("POST", path, "{\"action\":\"reject\",\"route\":\"api\"}");
            assertThat(onReject.statusCode()).isEqualTo(400);
            HttpResponse<String> notAString = admin("POST", path, "{\"action\":\"accept\",\"route\":[\"api\"]}");
            assertThat(notAString.statusCode()).isEqualTo(400);
            assertThat(listener.pending()).as("a refused completion leaves it pended").isNotEmpty();

            HttpResponse<String> accepted = admin("POST", path, "{\"action\":\"accept\",\"route\":\"api\"}");
            assertThat(accepted.statusCode()).isEqualTo(200);
            assertThat(accepted.body()).contains("\"route\":\"api\"");
            assertThat(hello(client)).isEqualTo("api-1");
        }
        assertThat(auditOf(ip(3, 1)).get("decidedBy").asString()).isEqualTo("operator");
        assertThat(auditOf(ip(3, 1)).get("route").asString()).isEqualTo("api");
    }

    // ---- reload ----------------------------------------------------------------------------------------

    @Test
    void aReloadNamingAPoolTheListenerDoesNotHaveIsRefused() throws Exception {
        String good = Files.readString(gateway.rulesFile());
        try {
            Files.writeString(gateway.rulesFile(), good.replace("route: api", "route: apii"));
            HttpResponse<String> refused = admin("POST", "/admin/rules/reload", null);
            assertThat(refused.statusCode()).isEqualTo(422);
            assertThat(refused.body()).contains("rules.yaml:4:")
                    .contains("rule 'to-api' of listener 'gate' routes to pool 'apii', which listener 'gate' does not have"
                            + " (its pools: default, api, batch)");
            assertThat(backendFor(ip(0, 2))).as("the old policy still runs").isEqualTo("api-1");
        } finally {
            Files.writeString(gateway.rulesFile(), good);
            assertThat(admin("POST", "/admin/rules/reload", null).statusCode()).isEqualTo(200);
        }
    }

    /** A backend that answers each line with its own name, for as long as the client talks. */
    static final class IdentityBackend implements AutoCloseable {

        private final String name;
        private final ServerSocket server;
        private final Thread acceptor;

        IdentityBackend(String name) throws IOException {
            this.name = name;
            this.server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            this.acceptor = new Thread(this::acceptLoop, "identity-" + name);
            acceptor.setDaemon(true);
            acceptor.start();
        }

        String hostPort() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread t = new Thread(() -> serve(s), "identity-" + name + "-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                int b;
                while ((b = in.read()) >= 0) {
                    if (b == '\n') {
                        out.write((name + "\n").getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                }
            } catch (IOException e) {
                // the client left
            }
        }

        /** One line from {@code socket}, within the deadline. */
        static String readLine(Socket socket) throws IOException {
            socket.setSoTimeout((int) DEADLINE.toMillis());
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                line.write(b);
            }
            if (b < 0) {
                throw new SocketException("closed before a whole line: '" + line + "'");
            }
            return line.toString(StandardCharsets.US_ASCII);
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
