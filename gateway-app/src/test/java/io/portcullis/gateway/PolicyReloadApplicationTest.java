package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live policy changes on a running gateway: the rules file sits behind a Kubernetes-style
 * {@code ..data} symlink, so a swap of that link is the change, as a ConfigMap update makes it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PolicyReloadApplicationTest {

    private static final String TOKEN = "test-admin-token";
    private static final Duration DEADLINE = Duration.ofSeconds(5);

    @TempDir
    static Path dir;

    @AutoClose
    private static GatewayUnderTest gateway;
    private static Listener listener;
    private static MeterRegistry meters;
    private static int version;

    private static final String FIRST = """
            listeners:
              svc:
                rules:
                  - name: two-allowed
                    source: [127.0.0.2]
                    action: accept
                default: reject
            """;

    private static final String SECOND = """
            listeners:
              svc:
                rules:
                  - name: two-blocked
                    source: [127.0.0.2]
                    action: reject
                  - name: watch-four
                    source: [127.0.0.4]
                    action: reject
                    mode: shadow
                  - name: one-at-a-time
                    source: [127.0.0.5]
                    concurrency-limit: { key: source-ip, max: 1 }
                  - name: slow-down
                    source: [127.0.0.6]
                    rate-limit: { key: source-ip, rate: 1/s, burst: 2 }
                default: accept
            """;

    @BeforeAll
    static void start() throws Exception {
        publish(FIRST);
        gateway = new GatewayUnderTest()
                .properties(
                        "portcullis.rules=file:" + dir.resolve("rules.yaml"),
                        "portcullis.rules-check-interval=100ms",
                        "portcullis.admin.token=" + TOKEN,
                        "portcullis.worker-threads=2")
                .addListener("svc")
                .start();
        listener = gateway.listener("svc");
        meters = gateway.meters();
    }

    /** Writes a new version directory and swaps the {@code ..data} link to it, as kubelet does. */
    private static void publish(String rules) throws IOException {
        version++;
        Path versionDir = dir.resolve("..v" + version);
        Files.createDirectories(versionDir);
        Files.writeString(versionDir.resolve("rules.yaml"), rules);
        Path tmp = dir.resolve("..data_tmp");
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, versionDir.getFileName());
        Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        Path link = dir.resolve("rules.yaml");
        if (!Files.isSymbolicLink(link)) {
            Files.createSymbolicLink(link, Path.of("..data", "rules.yaml"));
        }
    }

    private static boolean accepted(InetAddress from) {
        try (TestClient client = TestClient.connect(from, listener.localAddress())) {
            client.write(new byte[] {'?'});
            return client.readExactly(1, DEADLINE)[0] == '?';
        } catch (SocketException e) {
            return false;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static double reloads(String result) {
        return meters.get("portcullis.policy.reloads").tag("result", result).counter().count();
    }

    @Test
    @Order(1)
    void aSwapOfTheConfigMapLinkChangesTheVerdictWhileOldConnectionsFlow() throws Exception {
        assertThat(accepted(loopback(2))).isTrue();
        assertThat(accepted(loopback(3))).isFalse();
        try (TestClient old = TestClient.connect(loopback(2), listener.localAddress())) {
            old.write("before".getBytes());
            assertThat(new String(old.readExactly(6))).isEqualTo("before");

            publish(SECOND);
            await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(50))
                    .until(() -> !accepted(loopback(2)));
            assertThat(accepted(loopback(3))).isTrue();

            old.write("after".getBytes());
            assertThat(new String(old.readExactly(5))).as("the old connection keeps flowing").isEqualTo("after");
        }
        assertThat(reloads("success")).isGreaterThanOrEqualTo(1);
    }

    @Test
    @Order(2)
    void aBrokenFileIsRefusedAndTheRunningPolicyStays() throws Exception {
        double failures = reloads("failure");
        publish(SECOND.replace("action: reject\n      - name: watch-four", "action: rejekt\n      - name: watch-four"));
        await().atMost(Duration.ofSeconds(2)).until(() -> reloads("failure") > failures);
        assertThat(accepted(loopback(2))).as("still the second policy").isFalse();
        assertThat(accepted(loopback(3))).isTrue();

        HttpResponse<String> forced = admin("POST", "/admin/rules/reload", TOKEN);
        assertThat(forced.statusCode()).isEqualTo(422);
        assertThat(forced.body()).contains("rules.yaml:6:17").contains("rejekt");
        publish(SECOND);
        HttpResponse<String> fixed = admin("POST", "/admin/rules/reload", TOKEN);
        assertThat(fixed.statusCode()).isEqualTo(200);
        assertThat(fixed.body()).contains("\"result\":\"success\"");
    }

    @Test
    @Order(3)
    void theAdminApiWantsTheToken() throws Exception {
        assertThat(admin("POST", "/admin/rules/reload", null).statusCode()).isEqualTo(401);
        assertThat(admin("POST", "/admin/rules/reload", "wrong").statusCode()).isEqualTo(401);
    }

    @Test
    @Order(4)
    void shadowRulesAreCountedButDoNotDecide() {
        assertThat(accepted(loopback(4))).isTrue();
        assertThat(meters.get("portcullis.shadow.verdicts")
                .tags("listener", "svc", "rule", "watch-four", "action", "reject").counter().count()).isEqualTo(1);
    }

    @Test
    @Order(5)
    void concurrencyLimitRejectsPastItsBoundAndRecovers() throws Exception {
        try (TestClient first = TestClient.connect(loopback(5), listener.localAddress())) {
            first.write(new byte[] {'1'});
            first.readExactly(1);
            assertThat(accepted(loopback(5))).as("second at once").isFalse();
        }
        await().atMost(DEADLINE).until(() -> accepted(loopback(5)));
    }

    @Test
    @Order(6)
    void rateLimitRejectsPastItsBurstAndRecovers() {
        assertThat(accepted(loopback(6))).isTrue();
        assertThat(accepted(loopback(6))).isTrue();
        assertThat(accepted(loopback(6))).as("past the burst").isFalse();
        await().atMost(DEADLINE).pollInterval(Duration.ofMillis(200)).until(() -> accepted(loopback(6)));
        assertThat(meters.get("portcullis.limiter.key.cap.rejects").functionCounter().count())
                .as("refused by the rate, not at the key cap").isZero();
    }

    private static HttpResponse<String> admin(String method, String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.serverPort() + path))
                .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
                .send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
