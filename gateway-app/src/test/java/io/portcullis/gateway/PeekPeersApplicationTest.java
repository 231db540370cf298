package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.testing.AuditCapture;
import io.portcullis.gateway.testing.GatewayUnderTest;
import io.portcullis.gateway.testing.Peers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Peeking with real peers started here: HAProxy in front of Portcullis sending PROXY v1 ({@code send-proxy})
 * and v2 ({@code send-proxy-v2}) from the trusted 127.0.0.9, rules deciding on the client HAProxy saw
 * (127.0.0.2 accepted, 127.0.0.3 rejected); a forged header from an untrusted peer reset; {@code curl} and
 * {@code openssl s_client} through a TLS-peeking listener to an {@code openssl s_server}, accepted and
 * rejected by SNI, the accepted handshakes completing end to end (nothing is terminated here).
 */
class PeekPeersApplicationTest {

    private static final Duration DEADLINE = Duration.ofSeconds(15);

    private static Peers peers;
    private static GatewayUnderTest gateway;
    private static MeterRegistry meters;
    private static Listener behindLb;
    private static Listener tls;
    private static int haproxyV1;
    private static int haproxyV2;
    private static int tlsServer;
    private static int otherServer;

    @BeforeAll
    static void start() throws Exception {
        String haproxy = Peers.require("haproxy");
        String openssl = Peers.require("openssl");
        Peers.require("curl");
        peers = new Peers();
        Path dir = peers.dir();

        tlsServer = startTlsServer(openssl, "db.example.com");
        otherServer = startTlsServer(openssl, "other.example.com");

        gateway = new GatewayUnderTest();
        gateway.rules(rules(List.of()))
                .addListener("behind-lb", "proxy-protocol.accept=required", "proxy-protocol.trusted[0]=127.0.0.9")
                .addListener("tls", "peek.tls=true", "backends[0]=127.0.0.1:" + tlsServer,
                        "pools.other.backends[0]=127.0.0.1:" + otherServer)
                .start();
        meters = gateway.meters();
        behindLb = gateway.listener("behind-lb");
        tls = gateway.listener("tls");

        haproxyV1 = Peers.freePort();
        haproxyV2 = Peers.freePort();
        int target = behindLb.localAddress().getPort();
        Files.writeString(dir.resolve("haproxy.cfg"), """
                global
                  log stdout format raw local0 warning
                defaults
                  mode tcp
                  log global
                  timeout connect 2s
                  timeout client 15s
                  timeout server 15s
                frontend v1
                  bind 127.0.0.1:%d
                  default_backend portcullis_v1
                frontend v2
                  bind 127.0.0.1:%d
                  default_backend portcullis_v2
                backend portcullis_v1
                  server gw 127.0.0.1:%d send-proxy source 127.0.0.9
                backend portcullis_v2
                  server gw 127.0.0.1:%d send-proxy-v2 source 127.0.0.9
                """.formatted(haproxyV1, haproxyV2, target, target));
        peers.start("haproxy", List.of(haproxy, "-f", dir.resolve("haproxy.cfg").toString(), "-db"));
        peers.awaitListening("haproxy", haproxyV1, DEADLINE);
        peers.awaitListening("haproxy", haproxyV2, DEADLINE);
    }

    /** An {@code openssl s_server -www} with a fresh certificate for {@code name}; its port. */
    private static int startTlsServer(String openssl, String name) throws Exception {
        Path dir = peers.dir();
        int port = Peers.freePort();
        String key = dir.resolve(name + ".key.pem").toString();
        String cert = dir.resolve(name + ".cert.pem").toString();
        Peers.Result made = peers.run(List.of(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                "-subj", "/CN=" + name), "", DEADLINE);
        assertThat(made.exit()).as(made.output()).isZero();
        peers.start("s_server-" + name, List.of(openssl, "s_server", "-accept", "127.0.0.1:" + port, "-cert", cert,
                "-key", key, "-www"));
        peers.awaitListening("s_server-" + name, port, DEADLINE);
        return port;
    }

    /** The policy, with a rule that rejects the JA4 fingerprints {@code banned} (none: no such rule). */
    private static String rules(List<String> banned) {
        String fingerprints = banned.isEmpty() ? "" : """
                      - name: banned-client
                        tls-fingerprint: %s
                        action: reject
                """.formatted(banned);
        return """
                listeners:
                  behind-lb:
                    rules:
                      - name: office
                        source: [127.0.0.2]
                        action: accept
                      - name: blocked
                        source: [127.0.0.3]
                        action: reject
                    default: reject
                  tls:
                    rules:
                %s      - name: no-h2-for-db
                        sni: [db.example.com]
                        alpn: [h2]
                        action: reject
                      - name: db
                        sni: [db.example.com]
                        action: accept
                      - name: other
                        sni: [other.example.com]
                        action: accept
                        route: other
                    default: reject
                """.formatted(fingerprints);
    }

    @AfterAll
    static void stop() throws Exception {
        try (Peers p = peers; GatewayUnderTest g = gateway) {
            // both closed, the gateway first
        }
    }

    private static double verdicts(String listener, String rule, String action) {
        var counter = meters.find("portcullis.verdicts").tags("listener", listener, "rule", rule, "action", action)
                .counter();
        return counter == null ? 0 : counter.count();
    }

    private static double peekRejects(String listener, String reason) {
        return meters.get("portcullis.peek.rejects").tags("listener", listener, "reason", reason).counter().count();
    }

    @Test
    void haproxysClientIsTheSourceInBothVersions() throws Exception {
        for (int port : new int[] {haproxyV1, haproxyV2}) {
            double before = verdicts("behind-lb", "office", "accept");
            try (TestClient client = TestClient.connect(loopback(2), new java.net.InetSocketAddress("127.0.0.1", port))) {
                client.write("through haproxy".getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(client.readExactly(15, DEADLINE), StandardCharsets.US_ASCII))
                        .isEqualTo("through haproxy");
            }
            assertThat(verdicts("behind-lb", "office", "accept")).as("port %s", port).isEqualTo(before + 1);
        }
    }

    @Test
    void aClientHaproxySawAsBlockedIsRejected() throws Exception {
        for (int port : new int[] {haproxyV1, haproxyV2}) {
            double before = verdicts("behind-lb", "blocked", "reject");
            try (TestClient client = TestClient.connect(loopback(3), new java.net.InetSocketAddress("127.0.0.1", port))) {
                client.write("let me in".getBytes(StandardCharsets.US_ASCII));
                client.expectClosed(DEADLINE);
            }
            await().atMost(DEADLINE).until(() -> verdicts("behind-lb", "blocked", "reject") == before + 1);
        }
    }

    @Test
    void aForgedHeaderFromAnUntrustedPeerIsResetAndCounted() throws Exception {
        double before = peekRejects("behind-lb", "untrusted_header");
        try (TestClient forger = TestClient.connect(loopback(4), behindLb.localAddress())) {
            forger.write("PROXY TCP4 127.0.0.2 127.0.0.1 40000 5432\r\nhello".getBytes(StandardCharsets.US_ASCII));
            forger.expectReset(DEADLINE);
        }
        assertThat(peekRejects("behind-lb", "untrusted_header")).isEqualTo(before + 1);
        assertThat(verdicts("behind-lb", "office", "accept")).as("never inspected as 127.0.0.2").isGreaterThanOrEqualTo(0);
    }

    @Test
    void theTrustedBalancerWithoutAHeaderIsResetWhereOneIsRequired() throws Exception {
        double before = peekRejects("behind-lb", "missing_header");
        try (TestClient balancer = TestClient.connect(loopback(9), behindLb.localAddress())) {
            balancer.write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            balancer.expectReset(DEADLINE);
        }
        assertThat(peekRejects("behind-lb", "missing_header")).isEqualTo(before + 1);
    }

    private static List<String> curl(String host) {
        int port = tls.localAddress().getPort();
        return List.of(Peers.require("curl"), "-sS", "-k", "--http1.1", "--max-time", "10", "--resolve",
                host + ":" + port + ":127.0.0.1", "https://" + host + ":" + port + "/");
    }

    @Test
    void curlReachesTheTlsServerThroughTheNameItAsksFor() throws Exception {
        double before = verdicts("tls", "db", "accept");
        Peers.Result ok = peers.run(curl("db.example.com"), "", DEADLINE);
        assertThat(ok.exit()).as(ok.output()).isZero();
        assertThat(ok.output()).as("s_server's status page, over a handshake with the backend").contains("s_server");
        assertThat(verdicts("tls", "db", "accept")).isEqualTo(before + 1);

        double rejected = verdicts("tls", "default", "reject");
        Peers.Result no = peers.run(curl("nope.example.com"), "", DEADLINE);
        assertThat(no.exit()).as("reset before the handshake: " + no.output()).isNotZero();
        assertThat(no.output()).doesNotContain("s_server");
        assertThat(verdicts("tls", "default", "reject")).isGreaterThan(rejected);
    }

    @Test
    void opensslSClientCompletesItsHandshakeOnlyForTheAcceptedName() throws Exception {
        String openssl = Peers.require("openssl");
        String target = "127.0.0.1:" + tls.localAddress().getPort();
        Peers.Result ok = peers.run(List.of(openssl, "s_client", "-connect", target, "-servername", "db.example.com",
                "-alpn", "http/1.1", "-brief"), "", DEADLINE);
        assertThat(ok.output()).as("exit %s", ok.exit()).contains("CONNECTION ESTABLISHED");

        Peers.Result no = peers.run(List.of(openssl, "s_client", "-connect", target, "-servername", "evil.example.com",
                "-brief"), "", DEADLINE);
        assertThat(no.exit()).as(no.output()).isNotZero();
        assertThat(no.output()).doesNotContain("CONNECTION ESTABLISHED");
    }

    @Test
    void oneListenerRoutesEachNameToItsOwnServer() throws Exception {
        String openssl = Peers.require("openssl");
        String target = "127.0.0.1:" + tls.localAddress().getPort();
        for (String name : List.of("db.example.com", "other.example.com")) {
            Peers.Result r = peers.run(List.of(openssl, "s_client", "-connect", target, "-servername", name, "-brief"),
                    "", DEADLINE);
            assertThat(r.output()).as("exit %s", r.exit()).contains("CONNECTION ESTABLISHED")
                    .containsPattern("Peer certificate: CN ?= ?" + java.util.regex.Pattern.quote(name));
        }
    }

    @Test
    void anAlpnRuleRejectsBeforeTheHandshake() throws Exception {
        String openssl = Peers.require("openssl");
        String target = "127.0.0.1:" + tls.localAddress().getPort();
        double before = verdicts("tls", "no-h2-for-db", "reject");
        Peers.Result h2 = peers.run(List.of(openssl, "s_client", "-connect", target, "-servername", "db.example.com",
                "-alpn", "h2,http/1.1", "-brief"), "", DEADLINE);
        assertThat(h2.output()).as("exit %s", h2.exit()).doesNotContain("CONNECTION ESTABLISHED");
        assertThat(verdicts("tls", "no-h2-for-db", "reject")).isEqualTo(before + 1);
    }

    @Test
    void aFingerprintRuleTellsCurlFromOpensslWithoutTerminatingTls() throws Exception {
        String openssl = Peers.require("openssl");
        try (AuditCapture audit = new AuditCapture()) {
            Peers.Result first = peers.run(curl("db.example.com"), "", DEADLINE);
            assertThat(first.exit()).as(first.output()).isZero();
            await().atMost(DEADLINE).until(() -> audit.last("127.0.0.1").isPresent());
            String ja4 = audit.last("127.0.0.1").orElseThrow().get("ja4").asString();
            assertThat(ja4).matches("t1[0-3]d\\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}");

            double reloaded = meters.get("portcullis.policy.reloads").tag("result", "success").counter().count();
            Files.writeString(gateway.rulesFile(), rules(List.of(ja4)));
            await().atMost(DEADLINE).until(() ->
                    meters.get("portcullis.policy.reloads").tag("result", "success").counter().count() > reloaded);
            try {
                Peers.Result banned = peers.run(curl("db.example.com"), "", DEADLINE);
                assertThat(banned.exit()).as("curl's fingerprint is banned: " + banned.output()).isNotZero();
                Peers.Result other = peers.run(List.of(openssl, "s_client", "-connect",
                        "127.0.0.1:" + tls.localAddress().getPort(), "-servername", "db.example.com", "-alpn",
                        "http/1.1", "-brief"), "", DEADLINE);
                assertThat(other.output()).as("openssl's hello differs").contains("CONNECTION ESTABLISHED");
            } finally {
                double again = meters.get("portcullis.policy.reloads").tag("result", "success").counter().count();
                Files.writeString(gateway.rulesFile(), rules(List.of()));
                await().atMost(DEADLINE).until(() ->
                        meters.get("portcullis.policy.reloads").tag("result", "success").counter().count() > again);
            }
        }
    }

    @Test
    void aClientThatIsNotTlsIsResetAndCounted() throws Exception {
        double before = peekRejects("tls", "not_tls");
        try (TestClient client = TestClient.connect(loopback(5), tls.localAddress())) {
            client.write("GET / HTTP/1.1\r\nHost: db.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            client.expectReset(DEADLINE);
        }
        assertThat(peekRejects("tls", "not_tls")).isEqualTo(before + 1);
    }
}
