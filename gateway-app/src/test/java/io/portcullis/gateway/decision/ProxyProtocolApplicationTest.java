package io.portcullis.gateway.decision;

import static io.portcullis.core.testing.TestClient.loopback;
import static io.portcullis.gateway.decision.DecisionServer.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.ProxyProtocolBytes;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.admin.AdminPathSpellings;
import io.portcullis.gateway.testing.AuditCapture;
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * A listener behind a trusted balancer (127.0.0.9) that sends PROXY v2 with TLVs: the header's client is the
 * source of rules, of the decision request (which also carries the peer and the TLVs), of the audit line and of
 * the admin API, which shows the balancer as {@code peer}; the balancer's LOCAL health check is closed quietly.
 */
class ProxyProtocolApplicationTest {

    private static final String TOKEN = "operator-token-for-tests";
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    private static DecisionServer service;
    private static GatewayUnderTest gateway;
    private static AuditCapture audit;
    private static Listener lb;
    private static MeterRegistry meters;

    @BeforeAll
    static void start() throws Exception {
        service = DecisionServer.start();
        service.on("192.0.2.10", ok("{\"action\":\"accept\"}"));
        gateway = new GatewayUnderTest()
                .rules("""
                        listeners:
                          lb:
                            rules:
                              - name: ask
                                source: [192.0.2.0/24]
                                action: pend
                                decision: authz
                            default: reject
                        """)
                .properties("portcullis.admin.token=" + TOKEN,
                        "portcullis.decision-services.authz.url=" + service.url("/decide"),
                        "portcullis.decision-services.authz.timeout=2s")
                .addListener("lb", "proxy-protocol.accept=required", "proxy-protocol.trusted[0]=127.0.0.9",
                        "proxy-protocol.on-local=close", "inspect.timeout=8s")
                .start();
        lb = gateway.listener("lb");
        meters = gateway.meters();
        // After the start: Spring's logging set-up replaces the appenders attached before it.
        audit = new AuditCapture();
    }

    @AfterAll
    static void stop() {
        try (DecisionServer s = service; GatewayUnderTest g = gateway; AuditCapture a = audit) {
            // all closed
        }
    }

    private static byte[] v2(HAProxyCommand command, String source, int port, List<HAProxyTLV> tlvs) {
        return ProxyProtocolBytes.encode(command == HAProxyCommand.LOCAL
                ? new HAProxyMessage(HAProxyProtocolVersion.V2, command, HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0)
                : new HAProxyMessage(HAProxyProtocolVersion.V2, command, HAProxyProxiedProtocol.TCP4, source,
                        "198.51.100.1", port, 5432, tlvs));
    }

    private static byte[] concat(byte[] a, String b) {
        byte[] tail = b.getBytes(StandardCharsets.US_ASCII);
        byte[] out = java.util.Arrays.copyOf(a, a.length + tail.length);
        System.arraycopy(tail, 0, out, a.length, tail.length);
        return out;
    }

    @Test
    void theHeadersClientIsDecidedOnAndTheDecisionServiceSeesTheBalancerAndTheTlvs() throws Exception {
        byte[] header = v2(HAProxyCommand.PROXY, "192.0.2.10", 51234, List.of(
                new HAProxyTLV(HAProxyTLV.Type.PP2_TYPE_AUTHORITY, Unpooled.copiedBuffer("db.example.com", StandardCharsets.US_ASCII)),
                new HAProxyTLV((byte) 0xEA, Unpooled.wrappedBuffer(concat(new byte[] {1}, "vpce-0123abcd")))));
        try (TestClient balancer = TestClient.connect(loopback(9), lb.localAddress())) {
            balancer.write(concat(header, "hello"));
            assertThat(new String(balancer.readExactly(5, DEADLINE), StandardCharsets.US_ASCII)).isEqualTo("hello");
        }
        JsonNode request = service.requests.stream().filter(r -> r.get("source").get("ip").asString().equals("192.0.2.10"))
                .findFirst().orElseThrow();
        assertThat(request.get("source").get("port").asInt()).isEqualTo(51234);
        assertThat(request.get("destination").get("ip").asString()).isEqualTo("198.51.100.1");
        assertThat(request.get("peer").get("ip").asString()).isEqualTo("127.0.0.9");
        assertThat(request.get("proxy").get("authority").asString()).isEqualTo("db.example.com");
        assertThat(request.get("proxy").get("tlvs").toString()).contains("\"type\":234", "\"value\":\"vpce-0123abcd\"");

        await().atMost(DEADLINE).until(() -> audit.last("192.0.2.10").isPresent());
        JsonNode line = audit.last("192.0.2.10").orElseThrow();
        assertThat(line.get("peer").get("ip").asString()).isEqualTo("127.0.0.9");
        assertThat(line.get("outcome").asString()).isEqualTo("accept");
    }

    @Test
    void theAdminApiShowsTheClientAsSourceAndTheBalancerAsPeer() throws Exception {
        DecisionServer.Hold hold = service.hold("192.0.2.11", new DecisionServer.Answer(200, "{\"action\":\"reject\"}"));
        try (TestClient balancer = TestClient.connect(loopback(9), lb.localAddress())) {
            balancer.write(concat(v2(HAProxyCommand.PROXY, "192.0.2.11", 40404, List.of()), "x"));
            assertThat(hold.awaitSeen(DEADLINE)).isTrue();
            HttpResponse<String> pending = AdminPathSpellings.send(gateway.serverPort(), "GET", "/admin/pending",
                    "Bearer " + TOKEN, null);
            assertThat(pending.body()).contains("\"source\":\"192.0.2.11:40404\"").containsPattern("\"peer\":\"127\\.0\\.0\\.9:\\d+\"");
            hold.release();
            balancer.expectReset(DEADLINE);
        }
    }

    @Test
    void theBalancersLocalHealthCheckIsClosedWithoutAVerdict() throws Exception {
        double rejects = meters.get("portcullis.peek.rejects").tags("listener", "lb", "reason", "missing_header")
                .counter().count();
        try (TestClient balancer = TestClient.connect(loopback(9), lb.localAddress())) {
            balancer.write(v2(HAProxyCommand.LOCAL, null, 0, List.of()));
            balancer.expectEof(DEADLINE);
        }
        assertThat(meters.get("portcullis.peek.rejects").tags("listener", "lb", "reason", "missing_header")
                .counter().count()).isEqualTo(rejects);
    }
}
