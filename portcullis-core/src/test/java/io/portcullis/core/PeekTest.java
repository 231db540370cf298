package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import io.netty.buffer.Unpooled;
import io.portcullis.core.InspectionHandler.State;
import io.portcullis.core.testing.EmbeddedSocket;
import io.portcullis.core.testing.ProxyProtocolBytes;
import io.portcullis.core.testing.TlsHellos;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The peek stage on an {@link EmbeddedSocket}, with the handlers a listener installs: PROXY-protocol
 * headers (trusted or not, v1 and v2, LOCAL, TLVs), the TLS ClientHello, and every bound (bytes, deadline)
 * and split (1-byte segments, several records, a FIN anywhere). What reaches the accept handler must be
 * every byte after the header, unchanged.
 */
class PeekTest {

    private static final EventLoops LOOPS = EventLoops.nio(1);
    private static final InetSocketAddress BALANCER = new InetSocketAddress("127.0.0.9", 50000);
    private static final InetSocketAddress STRANGER = new InetSocketAddress("127.0.0.3", 40000);
    private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 8443);
    private static final String V1 = "PROXY TCP4 192.0.2.10 198.51.100.1 51234 5432\r\n";

    private final List<InspectRequest> inspected = new CopyOnWriteArrayList<>();
    private final List<AcceptedConnection> accepted = new CopyOnWriteArrayList<>();
    private final List<PeekReject> rejects = new CopyOnWriteArrayList<>();
    private final List<InspectionEnd> ended = new CopyOnWriteArrayList<>();
    private final List<EmbeddedSocket> channels = new ArrayList<>();
    private InspectAction answer = InspectAction.ACCEPT;

    @AfterEach
    void finish() {
        for (AcceptedConnection c : accepted) {
            c.close();
        }
        for (EmbeddedSocket ch : channels) {
            ch.finishAndReleaseAll();
        }
    }

    @AfterAll
    static void closeLoops() {
        LOOPS.close();
    }

    private record Conn(EmbeddedSocket ch, InspectionHandler handler) {
        State state() {
            return handler.state();
        }

        void send(byte[] bytes, int segment) {
            for (int at = 0; at < bytes.length && ch.isOpen(); at += segment) {
                int n = Math.min(segment, bytes.length - at);
                ch.receive(ch.alloc().buffer(n).writeBytes(bytes, at, n));
            }
        }

        void send(byte[] bytes) {
            send(bytes, bytes.length);
        }

        /**
         * The peeked part in segments, what follows it in the last one: once the peek is over nothing is read
         * until the new owner asks, so later segments would wait in the kernel.
         */
        void send(byte[] peeked, byte[] rest, int segment) {
            int last = Math.max(0, ((peeked.length - 1) / segment) * segment);
            send(Arrays.copyOf(peeked, last), segment);
            send(concat(Arrays.copyOfRange(peeked, last, peeked.length), rest));
        }
    }

    private static PeekSettings proxy(PeekSettings.ProxyProtocol mode) {
        return new PeekSettings(mode, List.of("127.0.0.8/31"), PeekSettings.OnLocal.RELAY, false,
                PeekSettings.OnNotTls.REJECT, Duration.ofSeconds(2), 4096);
    }

    private static PeekSettings tls(PeekSettings.OnNotTls onNotTls, int maxBytes) {
        return new PeekSettings(PeekSettings.ProxyProtocol.OFF, List.of(), PeekSettings.OnLocal.RELAY, true,
                onNotTls, Duration.ofSeconds(2), maxBytes);
    }

    private static PeekSettings both() {
        return new PeekSettings(PeekSettings.ProxyProtocol.REQUIRED, List.of("127.0.0.9"), PeekSettings.OnLocal.CLOSE,
                true, PeekSettings.OnNotTls.REJECT, Duration.ofSeconds(2), 8192);
    }

    private Listener listener(PeekSettings peek) {
        return Listener.builder("peeking").eventLoops(LOOPS).peek(peek)
                .observer(new ListenerObserver() {
                    @Override
                    public void peekRejected(String listener, PeekReject reason) {
                        rejects.add(reason);
                    }

                    @Override
                    public void inspectionEnded(InspectionEnd end) {
                        ended.add(end);
                    }
                })
                .inspectHandler(new InspectHandler() {
                    @Override
                    public InspectAction inspect(InspectRequest request) {
                        inspected.add(request);
                        return answer;
                    }
                })
                .acceptHandler(c -> {
                    accepted.add(c);
                    return true;
                })
                .build();
    }

    private Conn arrive(PeekSettings peek, InetSocketAddress from) {
        Listener listener = listener(peek);
        EmbeddedSocket ch = new EmbeddedSocket(from, LOCAL);
        channels.add(ch);
        listener.initConnection(ch, peek.trustRules());
        InspectionHandler handler = (InspectionHandler) ch.pipeline().get(PipelineNames.INSPECTION);
        ch.activate();
        return new Conn(ch, handler);
    }

    private static String take(AcceptedConnection connection) {
        ByteBuf data = connection.takeEarlyData();
        try {
            return data.toString(StandardCharsets.ISO_8859_1);
        } finally {
            data.release();
        }
    }

    private static byte[] takeBytes(AcceptedConnection connection) {
        ByteBuf data = connection.takeEarlyData();
        try {
            byte[] b = new byte[data.readableBytes()];
            data.readBytes(b);
            return b;
        } finally {
            data.release();
        }
    }

    private void assertReset(Conn c, PeekReject reason) {
        c.ch().runPendingTasks(); // the close comes in a task of its own
        assertThat(rejects).containsExactly(reason);
        assertThat(c.state()).isEqualTo(State.REJECTED);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(c.ch().soLinger()).as("a reset").isZero();
        assertThat(c.ch().written()).as("nothing said").isEmpty();
        assertThat(inspected).as("never inspected").isEmpty();
        assertThat(ended).singleElement().satisfies(e -> {
            assertThat(e.rule()).isEqualTo("peek");
            assertThat(e.reason()).contains(reason.label());
        });
    }

    private static byte[] v2(HAProxyCommand command, HAProxyProxiedProtocol protocol, String src, String dst,
                             int srcPort, int dstPort, List<HAProxyTLV> tlvs) {
        return ProxyProtocolBytes.encode(new HAProxyMessage(HAProxyProtocolVersion.V2, command, protocol, src, dst,
                srcPort, dstPort, tlvs));
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    // ---- PROXY protocol

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5, 13, 1000})
    void aTrustedV1HeaderNamesTheClientInAnySegmentation(int segment) {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(ascii(V1), ascii("SELECT 1;"), segment);

        assertThat(inspected).singleElement().satisfies(r -> {
            assertThat(r.source()).isEqualTo(new InetSocketAddress("192.0.2.10", 51234));
            assertThat(r.destination()).isEqualTo(new InetSocketAddress("198.51.100.1", 5432));
            assertThat(r.peer()).isEqualTo(BALANCER);
            assertThat(r.proxied()).isTrue();
            assertThat(r.proxy().orElseThrow().version()).isEqualTo(1);
        });
        assertThat(accepted).hasSize(1);
        assertThat(take(accepted.get(0))).as("the client's bytes, without the header").isEqualTo("SELECT 1;");
        assertThat(rejects).isEmpty();
        assertThat(c.ch().pipeline().get(PipelineNames.PEEK_GUARD)).as("peek handlers gone").isNull();
        assertThat(c.ch().pipeline().get(PipelineNames.PROXY_DECODER)).isNull();
    }

    @Test
    void aV2HeaderCarriesItsTlvsAndIpv6Addresses() {
        List<HAProxyTLV> tlvs = List.of(
                new HAProxyTLV(HAProxyTLV.Type.PP2_TYPE_AUTHORITY, Unpooled.copiedBuffer("db.example.com", StandardCharsets.US_ASCII)),
                new HAProxyTLV((byte) 0xEA, Unpooled.wrappedBuffer(concat(new byte[] {1}, ascii("vpce-0123abcd")))),
                new HAProxyTLV((byte) 0xEE, Unpooled.wrappedBuffer(new byte[] {1, 0x78, 0x56, 0x34, 0x12})),
                new HAProxyTLV((byte) 0xE0, Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 0, 0, 1, 2})),
                new HAProxyTLV((byte) 0xE5, Unpooled.wrappedBuffer(new byte[] {0, (byte) 0xFF})));
        byte[] header = v2(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP6, "2001:db8::7", "2001:db8::1",
                4000, 443, tlvs);
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.OPTIONAL), BALANCER);
        c.send(header, ascii("hello"), 3);

        InspectRequest r = inspected.get(0);
        assertThat(r.source()).isEqualTo(new InetSocketAddress("2001:db8::7", 4000));
        ProxyHeader h = r.proxy().orElseThrow();
        assertThat(h.version()).isEqualTo(2);
        assertThat(h.authority()).contains("db.example.com");
        assertThat(h.tlv(ProxyHeader.TYPE_AWS)).contains("vpce-0123abcd");
        assertThat(h.tlv(ProxyHeader.TYPE_AZURE)).contains(Long.toString(0x12345678L));
        assertThat(h.tlv(ProxyHeader.TYPE_GCP)).contains(Long.toString(0x0102L));
        assertThat(h.tlv(0xE5)).contains("hex:00ff");
        assertThat(h.tlv(0x30)).isEmpty();
        assertThat(take(accepted.get(0))).isEqualTo("hello");
    }

    @Test
    void aHandWrittenV2HeaderFromTheSpecificationParses() {
        // The v2 signature, PROXY over TCP4, 12 address bytes: 10.0.0.1:1000 -> 10.0.0.2:2000.
        byte[] header = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
            0x21, 0x11, 0x00, 0x0C, 10, 0, 0, 1, 10, 0, 0, 2, 0x03, (byte) 0xE8, 0x07, (byte) 0xD0};
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(header, ascii("x"), 1);
        assertThat(inspected.get(0).source()).isEqualTo(new InetSocketAddress("10.0.0.1", 1000));
        assertThat(take(accepted.get(0))).isEqualTo("x");
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v2"})
    void aHeaderFromAnUntrustedPeerIsAForgeryAndReset(String version) {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.OPTIONAL), STRANGER);
        byte[] header = version.equals("v1") ? ascii(V1)
                : v2(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP4, "192.0.2.10", "10.0.0.1", 1, 2, List.of());
        c.send(header, 1);
        assertReset(c, PeekReject.UNTRUSTED_HEADER);
    }

    @Test
    void withoutAHeaderAnOptionalListenerInspectsTheTcpPeer() {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.OPTIONAL), STRANGER);
        c.send(ascii("PROXI"), ascii("MA centauri"), 1);
        assertThat(inspected).singleElement().satisfies(r -> {
            assertThat(r.source()).isEqualTo(STRANGER);
            assertThat(r.peer()).isEqualTo(STRANGER);
            assertThat(r.proxy()).isEmpty();
            assertThat(r.proxied()).isFalse();
        });
        assertThat(take(accepted.get(0))).as("the bytes that looked like a signature are the client's")
                .isEqualTo("PROXIMA centauri");
    }

    @Test
    void aRequiredHeaderThatIsMissingIsAReset() {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(ascii("GET / HTTP/1.0\r\n"));
        assertReset(c, PeekReject.MISSING_HEADER);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "PROXY TCP4 192.0.2.10 198.51.100.1 51234\r\n",
        "PROXY TCP4 not-an-ip 198.51.100.1 1 2\r\n",
        "PROXY TCP4 192.0.2.10 198.51.100.1 99999 5432\r\n",
        "PROXY TCP9 192.0.2.10 198.51.100.1 1 2\r\n",
        "PROXY TCP4 192.0.2.10 198.51.100.1 1 2\n",
    })
    void aMalformedV1HeaderIsAReset(String header) {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.OPTIONAL), BALANCER);
        c.send(ascii(header));
        c.ch().receiveFin();
        assertReset(c, PeekReject.MALFORMED_HEADER);
    }

    @Test
    void aV1LineThatNeverEndsIsAResetAtItsLimit() {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.OPTIONAL), BALANCER);
        c.send(ascii("PROXY TCP4 " + "1".repeat(200)), 7);
        assertThat(rejects).hasSize(1);
        assertThat(rejects.get(0)).isIn(PeekReject.MALFORMED_HEADER, PeekReject.TOO_LARGE);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(c.ch().soLinger()).isZero();
    }

    @Test
    void aV2HeaderOfAnotherProtocolIsAReset() {
        byte[] header = v2(HAProxyCommand.PROXY, HAProxyProxiedProtocol.UDP4, "192.0.2.10", "10.0.0.1", 1, 2, List.of());
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(header);
        assertReset(c, PeekReject.MALFORMED_HEADER);
    }

    @Test
    void aV2HeaderLongerThanTheByteBoundIsAReset() {
        byte[] header = v2(HAProxyCommand.PROXY, HAProxyProxiedProtocol.TCP4, "192.0.2.10", "10.0.0.1", 1, 2,
                List.of(new HAProxyTLV((byte) 0xE5, Unpooled.wrappedBuffer(new byte[5000]))));
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(header, 1000);
        assertReset(c, PeekReject.TOO_LARGE);
    }

    @Test
    void aLocalHeaderIsTheBalancerItselfAndIsRelayedAsSuch() {
        byte[] header = v2(HAProxyCommand.LOCAL, HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0, List.of());
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(concat(header, ascii("ping")));
        assertThat(inspected).singleElement().satisfies(r -> {
            assertThat(r.source()).isEqualTo(BALANCER);
            assertThat(r.proxy().orElseThrow().local()).isTrue();
            assertThat(r.proxied()).isFalse();
        });
        assertThat(take(accepted.get(0))).isEqualTo("ping");
    }

    @Test
    void aLocalHeaderIsClosedWithoutInspectionWhereConfigured() {
        byte[] header = v2(HAProxyCommand.LOCAL, HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0, List.of());
        Conn c = arrive(both(), BALANCER);
        c.send(header);
        assertThat(inspected).isEmpty();
        assertThat(rejects).as("a health check is no rejection").isEmpty();
        assertThat(c.state()).isEqualTo(State.CLOSED);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(c.ch().soLinger()).as("a graceful close").isNotZero();
    }

    @Test
    void aFinBeforeAnyByteIsADepartureNotARejection() {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.ch().receiveFin();
        assertThat(c.state()).isEqualTo(State.CLOSED);
        assertThat(rejects).isEmpty();
        assertThat(inspected).isEmpty();
        assertThat(c.ch().isOpen()).isFalse();
    }

    @Test
    void aResetWhilePeekingEndsQuietly() {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(ascii("PROXY TCP4 "));
        c.ch().receiveReset();
        assertThat(c.state()).isEqualTo(State.CLOSED);
        assertThat(rejects).isEmpty();
        assertThat(inspected).isEmpty();
    }

    @Test
    void aFinInsideTheHeaderIsAMalformedHeader() {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(ascii(V1.substring(0, 20)), 1);
        c.ch().receiveFin();
        assertReset(c, PeekReject.MALFORMED_HEADER);
    }

    @ParameterizedTest
    @ValueSource(strings = {"q", "P", "PROX", "\r\n\r\n"})
    void aShortRequestAndAFinOnAnOptionalListenerIsTheClientsWholeInput(String request) {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.OPTIONAL), STRANGER);
        c.send(ascii(request));
        c.ch().receiveFin();
        assertThat(inspected).hasSize(1);
        assertThat(rejects).isEmpty();
        assertThat(take(accepted.get(0))).isEqualTo(request);
    }

    @Test
    void aSlowHeaderIsResetAtTheDeadline() {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        c.send(ascii("PROXY TCP4 192.0"), 1);
        c.ch().advance(Duration.ofMillis(1999));
        assertThat(c.state()).isEqualTo(State.PEEKING);
        c.ch().advance(Duration.ofMillis(2));
        assertReset(c, PeekReject.TIMEOUT);
    }

    @Test
    void readsArePerByteBoundedWhilePeeking() {
        Conn c = arrive(proxy(PeekSettings.ProxyProtocol.REQUIRED), BALANCER);
        CappedReads reads = (CappedReads) c.ch().config().getRecvByteBufAllocator();
        assertThat(reads.currentCap()).as("one more than the bound").isEqualTo(4097);
        c.send(ascii("PROXY "));
        assertThat(reads.currentCap()).isEqualTo(4091);
    }

    // ---- TLS

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100, 5000})
    void aClientHelloIsReadInAnySegmentationAndReplayedWhole(int segment) {
        byte[] hello = TlsHellos.clientHello("db.example.com", List.of("h2", "http/1.1"),
                TlsHellos.GROUP_X25519_MLKEM768, 1216, 16384);
        assertThat(hello.length).as("a post-quantum hello, more than one segment").isGreaterThan(1500);
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(hello, new byte[0], segment);

        assertThat(inspected).singleElement().satisfies(r -> {
            assertThat(r.tls()).isPresent();
            assertThat(r.sni()).contains("db.example.com");
            assertThat(r.alpn()).containsExactly("h2", "http/1.1");
        });
        assertThat(takeBytes(accepted.get(0))).as("every byte replayed").isEqualTo(hello);
        assertThat(c.ch().pipeline().get(PipelineNames.TLS_PEEK)).isNull();
    }

    @Test
    void aClientHelloInSeveralRecordsIsReassembled() {
        byte[] hello = TlsHellos.clientHello("a.example", List.of("h2"), TlsHellos.GROUP_X25519, 32, 50);
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(hello, ascii("after"), 3);
        assertThat(rejects).isEmpty();
        assertThat(inspected.get(0).sni()).contains("a.example");
        assertThat(takeBytes(accepted.get(0))).isEqualTo(concat(hello, ascii("after")));
    }

    @Test
    void aClientHelloInOneByteRecordsSplitsEvenItsHandshakeHeader() {
        byte[] hello = TlsHellos.clientHello("tiny.example", List.of("h2"), TlsHellos.GROUP_X25519, 32, 1);
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(hello, new byte[0], 64);
        assertThat(rejects).isEmpty();
        assertThat(inspected.get(0).sni()).contains("tiny.example");
        assertThat(takeBytes(accepted.get(0))).isEqualTo(hello);
    }

    @Test
    void anAlertInsideTheClientHelloIsMalformed() {
        byte[] hello = TlsHellos.clientHello("x.example", List.of(), TlsHellos.GROUP_X25519, 32, 40);
        byte[] alert = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(concat(Arrays.copyOf(hello, 45), alert));
        assertReset(c, PeekReject.MALFORMED_HELLO);
    }

    @Test
    void anEmptyHandshakeRecordIsMalformed() {
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(new byte[] {0x16, 0x03, 0x01, 0x00, 0x00, 0x16});
        assertReset(c, PeekReject.MALFORMED_HELLO);
    }

    @Test
    void aRecordLongerThanTlsAllowsIsMalformed() {
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 65551), STRANGER);
        c.send(new byte[] {0x16, 0x03, 0x01, 0x40, 0x01, 0x01});
        assertReset(c, PeekReject.MALFORMED_HELLO);
    }

    @ParameterizedTest
    @ValueSource(strings = {"handshake-not-hello", "sslv2", "alert-first"})
    void aFirstRecordThatIsNoClientHelloIsNotTls(String kind) {
        byte[] first = switch (kind) {
            case "handshake-not-hello" -> new byte[] {0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00};
            case "sslv2" -> new byte[] {0x16, 0x02, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
            default -> new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
        };
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(first);
        assertReset(c, PeekReject.NOT_TLS);
    }

    @Test
    void aHeaderThenAClientHelloBothCount() {
        byte[] hello = TlsHellos.clientHello("api.example.com");
        Conn c = arrive(both(), BALANCER);
        c.send(concat(ascii(V1), hello), new byte[0], 11);
        InspectRequest r = inspected.get(0);
        assertThat(r.source().getAddress().getHostAddress()).isEqualTo("192.0.2.10");
        assertThat(r.sni()).contains("api.example.com");
        assertThat(takeBytes(accepted.get(0))).as("the hello replayed, the header not").isEqualTo(hello);
    }

    @Test
    void notTlsIsResetWhereRejected() {
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(ascii("GET / HTTP/1.1\r\n"));
        assertReset(c, PeekReject.NOT_TLS);
    }

    @Test
    void notTlsIsInspectedWithoutNameWhereContinued() {
        Conn c = arrive(tls(PeekSettings.OnNotTls.CONTINUE, 16384), STRANGER);
        c.send(ascii("S"), ascii("SH-2.0-OpenSSH_9.2\r\n"), 2);
        assertThat(inspected).singleElement().satisfies(r -> {
            assertThat(r.tls()).isEmpty();
            assertThat(r.sni()).isEmpty();
        });
        assertThat(take(accepted.get(0))).isEqualTo("SSH-2.0-OpenSSH_9.2\r\n");
    }

    @Test
    void aClientHelloPastMaxBytesIsReset() {
        byte[] hello = TlsHellos.clientHello("big.example", List.of(), TlsHellos.GROUP_X25519_MLKEM768, 1216, 16384);
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 1024), STRANGER);
        c.send(hello, 100);
        assertReset(c, PeekReject.TOO_LARGE);
    }

    @Test
    void aClientHelloDeclaringMoreThanMaxBytesIsResetAtOnce() {
        byte[] hello = TlsHellos.clientHello("big.example", List.of(), TlsHellos.GROUP_X25519_MLKEM768, 1216, 16384);
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 1024), STRANGER);
        c.send(Arrays.copyOf(hello, 9));
        assertReset(c, PeekReject.TOO_LARGE);
    }

    @Test
    void aClientHelloTrickledPastTheDeadlineIsReset() {
        byte[] hello = TlsHellos.clientHello("slow.example");
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        for (int i = 0; i < 3; i++) {
            c.send(new byte[] {hello[i]});
            c.ch().advance(Duration.ofSeconds(1));
        }
        assertReset(c, PeekReject.TIMEOUT);
    }

    @Test
    void aFinInsideTheClientHelloIsAMalformedHello() {
        byte[] hello = TlsHellos.clientHello("cut.example");
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(Arrays.copyOf(hello, hello.length / 2), 10);
        c.ch().receiveFin();
        assertReset(c, PeekReject.MALFORMED_HELLO);
    }

    @Test
    void aClientHelloAndAFinIsStillInspectedAndTheFinKept() {
        byte[] hello = TlsHellos.clientHello("fin.example");
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(hello);
        c.ch().receiveFin();
        assertThat(inspected).hasSize(1);
        assertThat(takeBytes(accepted.get(0))).isEqualTo(hello);
    }

    @Test
    void aRejectedPeekedConnectionIsResetByTheRules() {
        answer = InspectAction.REJECT;
        Conn c = arrive(tls(PeekSettings.OnNotTls.REJECT, 16384), STRANGER);
        c.send(TlsHellos.clientHello("no.example"));
        assertThat(inspected).hasSize(1);
        assertThat(rejects).as("a rule's rejection is not a peek rejection").isEmpty();
        assertThat(c.state()).isEqualTo(State.REJECTED);
        assertThat(c.ch().soLinger()).isZero();
    }
}
