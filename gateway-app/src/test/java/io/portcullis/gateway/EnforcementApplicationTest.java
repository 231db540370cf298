package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.metrics.AuditLog;
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * {@code early-reject: kernel} and {@code recheck-on-reload} in the application: the leading source-only reject
 * rules become a kernel filter (a blocked source's connect gets no answer), a reload changes the filter and resets
 * the live connections the new rules reject (counted, audited), the admin API shows and triggers both.
 */
class EnforcementApplicationTest {

    private static final String TOKEN = "test-admin-token";
    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final Duration NO_ANSWER = Duration.ofMillis(400);
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final byte[] PING = "ping".getBytes(StandardCharsets.US_ASCII);

    private static final String FIRST = """
            listeners:
              svc:
                rules:
                  - name: deny-two
                    source: [127.0.0.2]
                    action: reject
                  - name: office
                    source: [127.0.0.0/24]
                    action: accept
                default: reject
            """;

    /** .3 joins the deny list; .4 falls to the default (reject) when the office rule narrows. */
    private static final String SECOND = """
            listeners:
              svc:
                rules:
                  - name: deny-two
                    source: [127.0.0.2, 127.0.0.3]
                    action: reject
                  - name: office
                    source: [127.0.0.5/32]
                    action: accept
                default: reject
            """;

    private static void echoes(TestClient client) throws Exception {
        client.write(PING);
        assertThat(client.readExactly(PING.length, DEADLINE)).isEqualTo(PING);
    }

    /** {@code portcullis_listen_drops_total{listener="svc"}} as scraped. */
    private static double listenDrops(GatewayUnderTest gateway) throws Exception {
        String body = gateway.get("/actuator/prometheus").body();
        Matcher m = Pattern.compile("(?m)^portcullis_listen_drops_total\\{listener=\"svc\"} (\\S+)$").matcher(body);
        assertThat(m.find()).as("portcullis_listen_drops_total for svc in%n%s", body).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static HttpResponse<String> admin(GatewayUnderTest gateway, String method, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.serverPort() + path))
                .header("Authorization", "Bearer " + TOKEN).method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(DEADLINE).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theKernelDropsDeniedSourcesAndAReloadResetsWhatItNowRejects() throws Exception {
        try (GatewayUnderTest gateway = new GatewayUnderTest().rules(FIRST)
                .properties("portcullis.rules-check-interval=100ms", "portcullis.admin.token=" + TOKEN,
                        "portcullis.worker-threads=2")
                .addListener("svc", "early-reject=kernel", "recheck-on-reload=close")
                .start()) {
            Logger audit = (Logger) LoggerFactory.getLogger(AuditLog.LOGGER);
            ListAppender<ILoggingEvent> lines = new ListAppender<>();
            lines.start();
            audit.addAppender(lines);
            try {
                Listener listener = gateway.listener("svc");
                assertThat(listenDrops(gateway)).isZero();
                TestClient.expectNoAnswer(loopback(2), listener.localAddress(), NO_ANSWER);
                // The kernel's drops are counted though no connection reached the gateway: at least the first SYN.
                assertThat(listenDrops(gateway)).isGreaterThanOrEqualTo(1);
                TestClient three = TestClient.connect(loopback(3), listener.localAddress());
                TestClient four = TestClient.connect(loopback(4), listener.localAddress());
                TestClient five = TestClient.connect(loopback(5), listener.localAddress());
                echoes(three);
                echoes(four);
                echoes(five);
                assertThat(gateway.get("/actuator/prometheus").body())
                        .contains("portcullis_early_reject_ranges{listener=\"svc\"} 1.0");
                String listeners = admin(gateway, "GET", "/admin/listeners").body();
                assertThat(listeners).contains("\"earlyReject\":{\"mode\":\"kernel\",\"attached\":true,\"ranges\":1")
                        .contains("\"rules\":[\"deny-two\"]")
                        .contains("\"userSpace\":[\"rule 'office' does not reject (accept)\"]")
                        .contains("\"recheckOnReload\":\"close\"")
                        .contains("\"kernelDrops\":" + (long) listenDrops(gateway));

                Files.writeString(gateway.rulesFile(), SECOND);

                // .3 (now denied) and .4 (now the default's) are reset; .5 goes on.
                three.expectReset(DEADLINE);
                four.expectReset(DEADLINE);
                echoes(five);
                await().atMost(DEADLINE).untilAsserted(() -> assertThat(gateway.get("/actuator/prometheus").body())
                        .contains("portcullis_rechecked_closes_total{listener=\"svc\",rule=\"deny-two\"} 1.0")
                        .contains("portcullis_rechecked_closes_total{listener=\"svc\",rule=\"default\"} 1.0")
                        .contains("portcullis_early_reject_ranges{listener=\"svc\"} 1.0"));
                // 127.0.0.2-3 merged into one range: .3 gets no answer now, .4 is answered (and rejected in user space).
                TestClient.expectNoAnswer(loopback(3), listener.localAddress(), NO_ANSWER);
                TestClient.expectRejected(loopback(4), listener.localAddress(), DEADLINE);
                await().atMost(DEADLINE).until(() -> messages(lines).stream().filter(m -> m.contains("recheck-closed")).count() == 2);
                assertThat(messages(lines)).anyMatch(m -> m.contains("\"ip\":\"127.0.0.3\"") && m.contains("\"rule\":\"deny-two\"")
                        && m.contains("\"outcome\":\"recheck-closed\"") && m.contains("\"decidedBy\":\"recheck\""));

                // On demand, log only: .5 would be kept, nothing to say; then a rule change through the file and a
                // dry run that reports without closing.
                HttpResponse<String> dry = admin(gateway, "POST", "/admin/rules/recheck?mode=log");
                assertThat(dry.statusCode()).isEqualTo(200);
                assertThat(dry.body()).isEqualTo("{\"mode\":\"log\",\"listeners\":{\"svc\":{\"checked\":1,\"wouldClose\":0}}}");
                assertThat(admin(gateway, "POST", "/admin/rules/recheck?mode=drop").statusCode()).isEqualTo(400);
                assertThat(admin(gateway, "POST", "/admin/rules/recheck?listener=nope").statusCode()).isEqualTo(404);
                echoes(five);
                five.close();
            } finally {
                audit.detachAppender(lines);
            }
        }
    }

    /** A listener without either key: nothing in the kernel, no recheck on reload, but the admin recheck reaches it. */
    @Test
    void aListenerWithoutTheKeysIsRecheckedOnDemandOnly() throws Exception {
        try (GatewayUnderTest gateway = new GatewayUnderTest().rules(FIRST)
                .properties("portcullis.rules-check-interval=100ms", "portcullis.admin.token=" + TOKEN)
                .addListener("svc")
                .start()) {
            Listener listener = gateway.listener("svc");
            TestClient.expectRejected(loopback(2), listener.localAddress(), DEADLINE);
            // Rejected after the handshake, in user space: nothing dropped in the kernel.
            assertThat(listenDrops(gateway)).isZero();
            TestClient four = TestClient.connect(loopback(4), listener.localAddress());
            echoes(four);
            assertThat(admin(gateway, "GET", "/admin/listeners").body())
                    .contains("\"earlyReject\":{\"mode\":\"off\"}").contains("\"recheckOnReload\":\"off\"");

            Files.writeString(gateway.rulesFile(), SECOND);
            await().atMost(DEADLINE).untilAsserted(() -> assertThat(
                    admin(gateway, "POST", "/admin/rules/recheck?listener=svc&mode=log").body())
                    .isEqualTo("{\"mode\":\"log\",\"listeners\":{\"svc\":{\"checked\":1,\"wouldClose\":1}}}"));
            // No recheck on reload here: .4 still relays until asked.
            echoes(four);
            assertThat(admin(gateway, "POST", "/admin/rules/recheck?listener=svc").body())
                    .isEqualTo("{\"mode\":\"close\",\"listeners\":{\"svc\":{\"checked\":1,\"closed\":1}}}");
            four.expectReset(DEADLINE);
        }
    }

    private static List<String> messages(ListAppender<ILoggingEvent> lines) {
        synchronized (lines.list) {
            return lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }
}
