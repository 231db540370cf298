package io.portcullis.gateway.cluster;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.admin.AdminPathSpellings;
import io.portcullis.gateway.testing.AuditCapture;
import io.portcullis.gateway.testing.GatewayUnderTest;
import io.portcullis.gateway.testing.RedisServer;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One pending list for two replicas: two whole applications (replica-id a and b, ports of their own) against one
 * real redis-server. A connection pended on a is listed by b ({@code GET /admin/pending?cluster=true}) and completed
 * through b ({@code POST /admin/pending/{id}?replica=a}) exactly as on a; forged commands on a's channel complete
 * nothing; a hanging Redis costs a quick 503 and leaves the local listing alone; a restarted Redis is taken up again;
 * a replica cut off from Redis drops out of the view with its list's TTL. The tests run in order, the last one
 * cutting a off.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PendingClusterApplicationTest {

    private static final String TOKEN = "operator-token-for-tests";
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String RULES = """
            listeners:
              gate:
                rules:
                  - name: wait
                    action: pend
                default: reject
            """;

    private static RedisServer redis;
    private static GatewayUnderTest a;
    private static GatewayUnderTest b;
    private static Listener gateOfA;
    private static AuditCapture audit;

    private static GatewayUnderTest replica(String name) throws Exception {
        return new GatewayUnderTest().rules(RULES)
                .addListener("gate", "inspect.timeout=1m", "inspect.on-timeout=reject")
                .properties("portcullis.admin.token=" + TOKEN, "portcullis.worker-threads=1",
                        "portcullis.cluster.redis.url=" + redis.url(), "portcullis.cluster.replica-id=" + name)
                .start();
    }

    @BeforeAll
    static void start() throws Exception {
        redis = RedisServer.start();
        a = replica("a");
        b = replica("b");
        gateOfA = a.listener("gate");
        // After the starts: each start sets logging up afresh.
        audit = new AuditCapture();
    }

    @AfterAll
    static void stop() throws Exception {
        try (RedisServer r = redis; AuditCapture c = audit) {
            if (a != null) {
                a.close();
            }
            if (b != null) {
                b.close();
            }
        }
    }

    private static HttpResponse<String> call(GatewayUnderTest on, String method, String path, String json) throws Exception {
        return AdminPathSpellings.send(on.serverPort(), method, path, "Bearer " + TOKEN, json);
    }

    private static JsonNode clusterView(GatewayUnderTest on) throws Exception {
        HttpResponse<String> r = call(on, "GET", "/admin/pending?cluster=true", null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    /** The entry of {@code client}'s connection in b's cluster view, once it shows. */
    private static JsonNode listedByB(TestClient client, String ip) throws Exception {
        String source = ip + ":" + client.socket().getLocalPort();
        JsonNode[] found = new JsonNode[1];
        await().atMost(WAIT).until(() -> {
            for (JsonNode e : clusterView(b).get("pending")) {
                if (source.equals(e.get("source").asString())) {
                    found[0] = e;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    private static TestClient pendOnA(int n, String bytes) throws Exception {
        int before = gateOfA.pendingCount();
        TestClient client = TestClient.connect(loopback(n), gateOfA.localAddress());
        client.write(bytes.getBytes(StandardCharsets.US_ASCII));
        await().atMost(WAIT).until(() -> gateOfA.pendingCount() == before + 1
                && gateOfA.pending().stream().anyMatch(p -> p.heldBytes() == bytes.length()
                && p.request().source().getPort() == client.socket().getLocalPort()));
        return client;
    }

    @Test
    @Order(1)
    void aConnectionPendedOnAIsListedByBAndAcceptedThroughB() throws Exception {
        String ip = "127.0.0.11";
        try (TestClient client = pendOnA(11, "hello")) {
            JsonNode entry = listedByB(client, ip);
            assertThat(entry.get("replica").asString()).isEqualTo("a");
            assertThat(entry.get("listener").asString()).isEqualTo("gate");
            assertThat(entry.get("rule").asString()).isEqualTo("wait");
            assertThat(entry.get("heldBytes").asInt()).isEqualTo(5);
            assertThat(entry.get("remainingMillis").asLong()).isBetween(1L, 60_000L);
            assertThat(entry.get("ageMillis").asLong()).isBetween(0L, 60_000L);
            String id = entry.get("id").asString();

            JsonNode view = clusterView(b);
            assertThat(view.get("replica").asString()).isEqualTo("b");
            assertThat(view.get("stale")).isEmpty();
            assertThat(view.get("replicas").valueStream().map(r -> r.get("replica").asString() + "/"
                    + r.get("state").asString() + "/" + r.get("self").asBoolean()))
                    .containsExactlyInAnyOrder("a/ok/false", "b/ok/true");

            // The local view of each stays what it was: this replica's own, a JSON array.
            JsonNode localOfA = JSON.readTree(call(a, "GET", "/admin/pending", null).body());
            assertThat(localOfA.isArray()).isTrue();
            assertThat(localOfA.valueStream().map(e -> e.get("id").asString())).contains(id);
            assertThat(localOfA.get(0).has("replica")).isFalse();
            assertThat(JSON.readTree(call(b, "GET", "/admin/pending", null).body())).isEmpty();

            // Checked by the holder as a local POST is: a route its listener does not have.
            HttpResponse<String> noSuchPool = call(b, "POST", "/admin/pending/" + id + "?replica=a",
                    "{\"action\":\"accept\",\"route\":\"nowhere\"}");
            assertThat(noSuchPool.statusCode()).as(noSuchPool.body()).isEqualTo(422);
            assertThat(noSuchPool.body()).contains("not a backend pool of listener 'gate'").contains("\"replica\":\"a\"");

            HttpResponse<String> accepted = call(b, "POST", "/admin/pending/" + id + "?replica=a", "{\"action\":\"accept\"}");
            assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(200);
            JsonNode body = JSON.readTree(accepted.body());
            assertThat(body.get("id").asString()).isEqualTo(id);
            assertThat(body.get("listener").asString()).isEqualTo("gate");
            assertThat(body.get("action").asString()).isEqualTo("accept");
            assertThat(body.get("replica").asString()).isEqualTo("a");
            assertThat(new String(client.readExactly(5), StandardCharsets.US_ASCII)).as("relayed by a").isEqualTo("hello");

            await().atMost(WAIT).until(() -> audit.last(ip).isPresent());
            JsonNode line = audit.last(ip).get();
            assertThat(line.get("decidedBy").asString()).isEqualTo("operator");
            assertThat(line.get("action").asString()).isEqualTo("accept");

            HttpResponse<String> again = call(b, "POST", "/admin/pending/" + id + "?replica=a", "{\"action\":\"reject\"}");
            assertThat(again.statusCode()).as("ended already").isEqualTo(404);
            assertThat(again.body()).contains("\"replica\":\"a\"");
        }
    }

    @Test
    @Order(2)
    void aConnectionPendedOnAIsRejectedThroughB() throws Exception {
        try (TestClient client = pendOnA(12, "x")) {
            String id = listedByB(client, "127.0.0.12").get("id").asString();
            HttpResponse<String> rejected = call(b, "POST", "/admin/pending/" + id + "?replica=a", "{\"action\":\"reject\"}");
            assertThat(rejected.statusCode()).as(rejected.body()).isEqualTo(200);
            client.expectReset(WAIT);
            await().atMost(WAIT).until(() -> audit.last("127.0.0.12").isPresent());
            assertThat(audit.last("127.0.0.12").get().get("decidedBy").asString()).isEqualTo("operator");
        }
    }

    @Test
    @Order(3)
    void whatCannotBeCompletedIsAnsweredAsLocally() throws Exception {
        HttpResponse<String> unknown = call(b, "POST", "/admin/pending/999999999?replica=a", "{\"action\":\"accept\"}");
        assertThat(unknown.statusCode()).as(unknown.body()).isEqualTo(404);
        assertThat(unknown.body()).contains("no pended inspection 999999999").contains("\"replica\":\"a\"");

        HttpResponse<String> nobody = call(b, "POST", "/admin/pending/1?replica=nobody", "{\"action\":\"accept\"}");
        assertThat(nobody.statusCode()).isEqualTo(404);
        assertThat(nobody.body()).contains("replica 'nobody' is not listening");

        // Refused by b before anything is sent.
        assertThat(call(b, "POST", "/admin/pending/1?replica=a", "{\"action\":\"maybe\"}").statusCode()).isEqualTo(400);
        assertThat(call(b, "POST", "/admin/pending/1?replica=a", "{\"action\":\"reject\",\"route\":\"api\"}").statusCode())
                .isEqualTo(400);
        assertThat(call(b, "POST", "/admin/pending/x1?replica=a", "{\"action\":\"accept\"}").statusCode()).isEqualTo(400);
        assertThat(call(b, "POST", "/admin/pending/1?replica=no*pe", "{\"action\":\"accept\"}").statusCode()).isEqualTo(400);
        assertThat(call(b, "POST", "/admin/pending/1?replica=a", null).statusCode()).isEqualTo(400);

        // Without ?replica a completion is local, as without a cluster: a's id means nothing on b.
        try (TestClient client = pendOnA(13, "y")) {
            String id = listedByB(client, "127.0.0.13").get("id").asString();
            assertThat(call(b, "POST", "/admin/pending/" + id, "{\"action\":\"accept\"}").statusCode()).isEqualTo(404);
            assertThat(call(a, "POST", "/admin/pending/" + id + "?replica=a", "{\"action\":\"reject\"}").statusCode())
                    .as("naming itself: local").isEqualTo(200);
            client.expectReset(WAIT);
        }
        // The admin token guards the cluster view and the relay as every admin route.
        assertThat(AdminPathSpellings.send(b.serverPort(), "GET", "/admin/pending?cluster=true", null, null).statusCode())
                .isEqualTo(401);
        assertThat(AdminPathSpellings.send(b.serverPort(), "POST", "/admin/pending/1?replica=a", "Bearer wrong-token-0000000",
                "{\"action\":\"accept\"}").statusCode()).isEqualTo(401);
    }

    @Test
    @Order(4)
    void aCommandWithoutTheAdminTokensSignatureCompletesNothing() throws Exception {
        ClusterPending relayOfA = a.bean(ClusterPending.class);
        try (TestClient client = pendOnA(14, "z");
             ClusterStore intruder = new ClusterStore("intruder", redis.url(), Duration.ofSeconds(1), 1, 10,
                     Duration.ofSeconds(15))) {
            String id = listedByB(client, "127.0.0.14").get("id").asString();
            await().atMost(WAIT).until(intruder::connected);
            long droppedBefore = relayOfA.droppedMessages();
            String command = "{\"v\":1,\"type\":\"complete\",\"req\":\"r-%s\",\"from\":\"b\",\"to\":\"%s\",\"sentAt\":%d,"
                    + "\"id\":\"" + id + "\",\"action\":\"accept\",\"route\":null}";
            long now = System.currentTimeMillis();
            SignedMessages withToken = new SignedMessages(TOKEN, SignedMessages.PENDING_RELAY);
            String[] forged = {
                String.format(command, "1", "a", now),                                          // unsigned
                new SignedMessages("some-other-token-000", SignedMessages.PENDING_RELAY).sign(String.format(command, "2", "a", now)), // another key
                withToken.sign(String.format(command, "3", "b", now)),                          // for another replica
                withToken.sign(String.format(command, "4", "a", now - 120_000)),                // two minutes old
                "garbage",
            };
            for (String message : forged) {
                assertThat(intruder.call(c -> c.publish(PendingRelay.COMMANDS + "a", message)).get(5, TimeUnit.SECONDS))
                        .isEqualTo(1L);
            }
            await().atMost(WAIT).until(() -> relayOfA.droppedMessages() == droppedBefore + forged.length);
            assertThat(gateOfA.pending()).anyMatch(p -> p.request().id().toString().equals(id));

            // Signed with the token, for a, now: completes (a's answer goes to b, which waits for nothing); its replay
            // is dropped.
            String genuine = withToken.sign(String.format(command, "5", "a", now).replace("accept", "reject"));
            intruder.call(c -> c.publish(PendingRelay.COMMANDS + "a", genuine)).get(5, TimeUnit.SECONDS);
            client.expectReset(WAIT);
            intruder.call(c -> c.publish(PendingRelay.COMMANDS + "a", genuine)).get(5, TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> relayOfA.droppedMessages() == droppedBefore + forged.length + 1);
        }
    }

    @Test
    @Order(5)
    void aHangingRedisIsA503QuicklyAndTheLocalListingStillAnswers() throws Exception {
        redis.pause();
        try {
            long start = System.nanoTime();
            HttpResponse<String> view = call(b, "GET", "/admin/pending?cluster=true", null);
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(view.statusCode()).as(view.body()).isEqualTo(503);
            assertThat(view.body()).contains("the cluster's Redis did not answer").contains("\"replica\":\"b\"");
            assertThat(tookMillis).as("answered after %d ms (store timeout 100 ms)", tookMillis).isLessThan(2000);

            HttpResponse<String> local = call(b, "GET", "/admin/pending", null);
            assertThat(local.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(local.body()).isArray()).isTrue();

            HttpResponse<String> relayed = call(b, "POST", "/admin/pending/1?replica=a", "{\"action\":\"accept\"}");
            assertThat(relayed.statusCode()).as(relayed.body()).isEqualTo(503);
        } finally {
            redis.resume();
        }
    }

    @Test
    @Order(6)
    void aRestartedRedisIsTakenUpAgain() throws Exception {
        redis.restart();
        await().atMost(WAIT).until(() -> a.bean(ClusterStore.class).connected() && b.bean(ClusterStore.class).connected());
        try (TestClient client = pendOnA(16, "again")) {
            // a publishes its list again (its TTL renewal finds nothing) and b's relay reaches a's resubscribed channel.
            String id = listedByB(client, "127.0.0.16").get("id").asString();
            await().atMost(WAIT).until(() -> a.bean(ClusterStore.class).subscribed() && b.bean(ClusterStore.class).subscribed());
            HttpResponse<String> accepted = call(b, "POST", "/admin/pending/" + id + "?replica=a", "{\"action\":\"accept\"}");
            assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(200);
            assertThat(new String(client.readExactly(5), StandardCharsets.US_ASCII)).isEqualTo("again");
        }
    }

    @Test
    @Order(7)
    void aReplicaCutOffFromRedisLeavesTheViewWithItsListsTtl() throws Exception {
        try (TestClient client = pendOnA(17, "gone")) {
            listedByB(client, "127.0.0.17");
            // As if a died: its connections to Redis go, nothing is withdrawn; its list lives out its TTL (5 s).
            a.bean(ClusterStore.class).close();
            long cut = System.nanoTime();
            await().atMost(Duration.ofSeconds(12)).until(() -> {
                JsonNode view = clusterView(b);
                return view.get("pending").isEmpty() && view.get("stale").valueStream().anyMatch(r -> r.asString().equals("a"));
            });
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cut);
            assertThat(tookMillis).as("gone after %d ms", tookMillis).isGreaterThan(2_000);
            JsonNode stale = clusterView(b).get("replicas").valueStream()
                    .filter(r -> r.get("replica").asString().equals("a")).findFirst().orElseThrow();
            assertThat(stale.get("state").asString()).isEqualTo("stale");
            assertThat(call(b, "POST", "/admin/pending/1?replica=a", "{\"action\":\"accept\"}").statusCode())
                    .as("nobody listens for a").isEqualTo(404);
        }
        a.close();
    }
}
