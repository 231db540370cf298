package io.portcullis.core.relay;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import io.portcullis.core.EventLoops;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.PeekSettings;
import io.portcullis.core.testing.TestClient;
import io.portcullis.core.testing.TestTransports;
import io.portcullis.core.testing.TlsHellos;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Peeking and the PROXY-protocol header to the backend, on real sockets on every transport: a trusted
 * balancer's header names the client, untrusted ones are reset, the ClientHello reaches the backend byte
 * for byte, and the backend is told the real client (v1 and v2, SNI as the authority).
 */
class PeekRelayTest {

    private static final TestTransports TRANSPORTS = new TestTransports(2);
    private static final Duration DEADLINE = RelayUnderTest.DEADLINE;

    private final RecordingRelayObserver observer = new RecordingRelayObserver();
    private final RelayUnderTest relay = new RelayUnderTest(observer);

    static Stream<String> transports() {
        return TestTransports.labels();
    }

    @AfterEach
    void tearDown() throws Exception {
        relay.close();
    }

    @AfterAll
    static void shutdown() {
        TRANSPORTS.close();
    }

    private static PeekSettings peek(PeekSettings.ProxyProtocol accept, String trusted, boolean tls) {
        return new PeekSettings(accept, accept == PeekSettings.ProxyProtocol.OFF ? List.of() : List.of(trusted),
                PeekSettings.OnLocal.RELAY, tls, PeekSettings.OnNotTls.REJECT, Duration.ofSeconds(5), 16384);
    }

    /** Reads the PROXY header a backend got, then {@code after} bytes, through Netty's decoder. */
    private static HAProxyMessage header(TestClient backend, int headerLength) throws IOException {
        byte[] bytes = backend.readExactly(headerLength, DEADLINE);
        EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder());
        decoder.writeInbound(Unpooled.wrappedBuffer(bytes));
        HAProxyMessage msg = decoder.readInbound();
        assertThat(msg).as("a whole header in %s bytes", headerLength).isNotNull();
        if (decoder.finishAndReleaseAll()) {
            msg.release();
            throw new AssertionError("bytes after a header of " + headerLength + " bytes");
        }
        return msg;
    }

    private static void writeInSegments(TestClient client, byte[] data, int segment) throws IOException {
        for (int at = 0; at < data.length; at += segment) {
            client.write(data, at, Math.min(segment, data.length - at));
            client.socket().getOutputStream().flush();
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void aTrustedHeaderNamesTheClientAndTheBackendIsToldItInV1(String transport) throws Exception {
        relay.on(TRANSPORTS.loops(transport)).blockingServer()
                .peek(peek(PeekSettings.ProxyProtocol.REQUIRED, "127.0.0.2", false))
                .sendProxy(RelaySettings.SendProxy.V1)
                .rules(r -> r.source().getAddress().getHostAddress().equals("192.0.2.10") ? InspectAction.ACCEPT
                        : InspectAction.REJECT)
                .start();
        InetSocketAddress gateway = relay.listenerAddress();
        try (TestClient balancer = TestClient.connect(loopback(2), gateway)) {
            balancer.write("PROXY TCP4 192.0.2.10 198.51.100.1 51234 5432\r\nhello".getBytes(StandardCharsets.US_ASCII));
            InspectRequest r = relay.nextInspected();
            assertThat(r.peer().getAddress()).isEqualTo(loopback(2));
            TestClient backend = relay.acceptBackend();
            String expected = "PROXY TCP4 192.0.2.10 198.51.100.1 51234 5432\r\n";
            assertThat(new String(backend.readExactly(expected.length() + 5, DEADLINE), StandardCharsets.US_ASCII))
                    .isEqualTo(expected + "hello");
            backend.write("world".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(balancer.readExactly(5, DEADLINE), StandardCharsets.US_ASCII)).isEqualTo("world");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void aHeaderFromAnUntrustedPeerIsReset(String transport) throws Exception {
        relay.on(TRANSPORTS.loops(transport)).blockingServer()
                .peek(peek(PeekSettings.ProxyProtocol.OPTIONAL, "127.0.0.2", false))
                .rules(r -> InspectAction.ACCEPT)
                .start();
        try (TestClient forger = TestClient.connect(loopback(3), relay.listenerAddress())) {
            forger.write("PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\nGET /".getBytes(StandardCharsets.US_ASCII));
            forger.expectReset(DEADLINE);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void aClientHelloInOneByteSegmentsReachesTheBackendWholeAfterAV2Header(String transport) throws Exception {
        relay.on(TRANSPORTS.loops(transport)).blockingServer()
                .peek(peek(PeekSettings.ProxyProtocol.OFF, null, true))
                .sendProxy(RelaySettings.SendProxy.V2)
                .rules(r -> InspectAction.ACCEPT)
                .start();
        byte[] hello = TlsHellos.clientHello("db.example.com", List.of("postgresql"),
                TlsHellos.GROUP_X25519_MLKEM768, 1216, 16384);
        try (TestClient client = TestClient.connect(loopback(4), relay.listenerAddress())) {
            client.socket().setTcpNoDelay(true);
            writeInSegments(client, hello, 1);
            TestClient backend = relay.acceptBackend();
            int headerLength = 16 + 12 + 3 + "db.example.com".length();
            HAProxyMessage msg = header(backend, headerLength);
            try {
                assertThat(msg.protocolVersion()).isEqualTo(HAProxyProtocolVersion.V2);
                assertThat(msg.sourceAddress()).isEqualTo("127.0.0.4");
                assertThat(msg.tlvs()).singleElement().satisfies(t -> {
                    assertThat(t.type()).isEqualTo(HAProxyTLV.Type.PP2_TYPE_AUTHORITY);
                    assertThat(t.content().toString(StandardCharsets.US_ASCII)).isEqualTo("db.example.com");
                });
            } finally {
                msg.release();
            }
            assertThat(backend.readExactly(hello.length, DEADLINE)).as("the ClientHello, unchanged").isEqualTo(hello);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void aClientThatSendsNothingStillGetsItsHeaderToTheBackend(String transport) throws Exception {
        relay.on(TRANSPORTS.loops(transport)).blockingServer()
                .sendProxy(RelaySettings.SendProxy.V1)
                .start();
        try (TestClient client = TestClient.connect(loopback(5), relay.listenerAddress())) {
            TestClient backend = relay.acceptBackend();
            String expected = "PROXY TCP4 127.0.0.5 127.0.0.1 " + client.socket().getLocalPort() + " "
                    + relay.listenerAddress().getPort() + "\r\n";
            assertThat(new String(backend.readExactly(expected.length(), DEADLINE), StandardCharsets.US_ASCII))
                    .isEqualTo(expected);
        }
    }
}
