package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslClientHelloHandler;
import io.netty.util.concurrent.Future;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ClientHello parser and its JA4: the specification's example, real hellos of openssl and curl (JA4 from
 * FoxIO's reference implementation), and hostile input (every truncation, random corruption, bad lengths).
 */
class ClientHelloParserTest {

    static final String OPENSSL_TLS13 = "openssl-tls13-sni-alpn";
    static final String OPENSSL_TLS12 = "openssl-tls12-no-sni";
    static final String CURL_SNI = "curl-sni";
    static final String CURL_IP = "curl-ip-http11";
    static final List<String> CAPTURES = List.of(OPENSSL_TLS13, OPENSSL_TLS12, CURL_SNI, CURL_IP);

    /** The first 12 hex digits of SHA-256("c02f"), computed outside this code. */
    private static final String HASH_C02F = "f06271c2b022";

    // JA4.md's worked example: ciphers, extensions in order, signature algorithms.
    private static final int[] SPEC_CIPHERS = {
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
        0x002f, 0x0035};
    private static final int[] SPEC_EXTENSIONS = {
        0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01,
        0x000b, 0x000a, 0x0015};
    private static final int[] SPEC_SIGNATURE_ALGORITHMS = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};

    // --- the specification's example ---

    @Test
    void specificationExample() {
        TlsHello hello = parse(specHello(false).body());
        assertThat(hello.ja4()).isEqualTo("t13d1516h2_8daaf6152771_e5627efa2ab1");
        assertThat(hello.sni()).contains("example.com");
        assertThat(hello.alpn()).containsExactly("h2", "http/1.1");
        assertThat(hello.versions()).containsExactly("TLSv1.3", "TLSv1.2");
    }

    @Test
    void greaseIsIgnoredInCountsHashesAndVersions() {
        TlsHello hello = parse(specHello(true).body());
        assertThat(hello.ja4()).isEqualTo("t13d1516h2_8daaf6152771_e5627efa2ab1");
        assertThat(hello.versions()).containsExactly("TLSv1.3", "TLSv1.2");
    }

    @Test
    void greaseRecognisesAllSixteenValuesAndNothingElse() {
        int found = 0;
        for (int v = 0; v <= 0xffff; v++) {
            if (ClientHelloParser.isGrease(v)) {
                found++;
                assertThat(v >> 8).isEqualTo(v & 0xff);
                assertThat(v & 0x0f).isEqualTo(0x0a);
            }
        }
        assertThat(found).isEqualTo(16);
    }

    /** A hello as JA4.md describes it; with {@code grease}, as Chrome sends it, GREASE in every list. */
    private static Hello specHello(boolean grease) {
        Hello h = new Hello();
        h.ciphers = grease ? prepend(0x1a1a, SPEC_CIPHERS) : SPEC_CIPHERS;
        if (grease) {
            h.ext(0xcaca, new byte[0]);
        }
        for (int type : SPEC_EXTENSIONS) {
            switch (type) {
                case 0x0000:
                    h.ext(type, sni(0, "example.com"));
                    break;
                case 0x0010:
                    h.ext(type, alpn("h2", "http/1.1"));
                    break;
                case 0x000d:
                    h.ext(type, u16List(grease ? prepend(0x5a5a, SPEC_SIGNATURE_ALGORITHMS) : SPEC_SIGNATURE_ALGORITHMS));
                    break;
                case 0x002b:
                    h.ext(type, supportedVersions(grease ? new int[] {0xfafa, 0x0304, 0x0303} : new int[] {0x0304, 0x0303}));
                    break;
                default:
                    h.ext(type, new byte[] {0});
            }
        }
        if (grease) {
            h.ext(0x3a3a, new byte[] {0});
        }
        return h;
    }

    // --- real hellos, JA4 from FoxIO's ja4.py over tshark on a capture of the same connections ---

    @Test
    void opensslTls13WithSniAndAlpn() {
        TlsHello hello = parse(capture(OPENSSL_TLS13));
        assertThat(hello.ja4()).isEqualTo("t13d3111h2_e8f1e7e78f70_1f22a2ca17c4");
        assertThat(hello.sni()).as("sent as Example.COM").contains("example.com");
        assertThat(hello.alpn()).containsExactly("h2", "http/1.1");
        assertThat(hello.versions()).containsExactly("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1");
    }

    @Test
    void opensslTls12WithoutSniTakesTheLegacyVersion() {
        TlsHello hello = parse(capture(OPENSSL_TLS12));
        assertThat(hello.ja4()).isEqualTo("t12i280600_d943125447b4_e7e480e5a997");
        assertThat(hello.sni()).isEmpty();
        assertThat(hello.alpn()).isEmpty();
        assertThat(hello.versions()).containsExactly("TLSv1.2");
    }

    @Test
    void curlWithSni() {
        TlsHello hello = parse(capture(CURL_SNI));
        assertThat(hello.ja4()).isEqualTo("t13d3112h2_e8f1e7e78f70_b26ce05bbdd6");
        assertThat(hello.sni()).contains("www.example.com");
        assertThat(hello.alpn()).containsExactly("h2", "http/1.1");
        assertThat(hello.versions()).containsExactly("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1");
    }

    @Test
    void curlToAnAddressSendsNoSni() {
        TlsHello hello = parse(capture(CURL_IP));
        assertThat(hello.ja4()).isEqualTo("t13i3111h1_e8f1e7e78f70_b26ce05bbdd6");
        assertThat(hello.sni()).isEmpty();
        assertThat(hello.alpn()).containsExactly("http/1.1");
    }

    @Test
    void readsBetweenTheIndicesAndLeavesThemAsTheyWere() {
        byte[] body = capture(CURL_SNI);
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(body.length + 20);
        try {
            buf.writeZero(7).writeBytes(body).writeZero(13);
            buf.setIndex(7, 7 + body.length);
            assertThat(ClientHelloParser.parse(buf).ja4()).isEqualTo("t13d3112h2_e8f1e7e78f70_b26ce05bbdd6");
            assertThat(buf.readerIndex()).isEqualTo(7);
            assertThat(buf.writerIndex()).isEqualTo(7 + body.length);
            assertThat(buf.refCnt()).isEqualTo(1);
        } finally {
            buf.release();
        }
    }

    // --- what Netty's SslClientHelloHandler hands to lookup is what parse takes ---

    @Test
    void parsesWhatSslClientHelloHandlerHandsOnFromAHelloInTwoRecords() {
        byte[] body = postQuantumHello();
        byte[] handshake = new byte[4 + body.length];
        handshake[0] = 1;
        handshake[1] = (byte) (body.length >> 16);
        handshake[2] = (byte) (body.length >> 8);
        handshake[3] = (byte) body.length;
        System.arraycopy(body, 0, handshake, 4, body.length);
        // Two records, split inside the key share, as a client with a large hello may send them.
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        int split = 700;
        record(wire, handshake, 0, split);
        record(wire, handshake, split, handshake.length - split);

        List<TlsHello> seen = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel(new SslClientHelloHandler<TlsHello>() {
            @Override
            protected Future<TlsHello> lookup(ChannelHandlerContext ctx, ByteBuf clientHello) {
                // null when the channel closes without a hello
                return ctx.executor().newSucceededFuture(clientHello == null ? null : ClientHelloParser.parse(clientHello));
            }

            @Override
            protected void onLookupComplete(ChannelHandlerContext ctx, Future<TlsHello> future) {
                if (future.getNow() != null) {
                    seen.add(future.getNow());
                }
                // done, as SniHandler is: out of the pipeline, handing on the bytes it held
                ctx.pipeline().remove(this);
            }
        });
        try {
            // Segments: one inside the first record, one ending it, then the second record whole. (Netty
            // 4.2.15 misreads a second record of which only 1 to 4 bytes, or all but its last 1 to 4, have come.)
            byte[] bytes = wire.toByteArray();
            int firstRecordEnd = 5 + split;
            channel.writeInbound(Unpooled.wrappedBuffer(bytes, 0, 300));
            channel.writeInbound(Unpooled.wrappedBuffer(bytes, 300, firstRecordEnd - 300));
            assertThat(seen).as("the hello is not complete yet").isEmpty();
            channel.writeInbound(Unpooled.wrappedBuffer(bytes, firstRecordEnd, bytes.length - firstRecordEnd));
            assertThat(seen).hasSize(1);
            assertThat(seen.get(0).ja4()).isEqualTo("t13d3111h2_e8f1e7e78f70_1f22a2ca17c4");
            ByteBuf passed = Unpooled.buffer();
            for (ByteBuf b; (b = channel.readInbound()) != null; ) {
                passed.writeBytes(b);
                b.release();
            }
            assertThat(ByteBufUtil.getBytes(passed)).as("every byte handed on, none consumed").isEqualTo(wire.toByteArray());
            passed.release();
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    private static void record(ByteArrayOutputStream out, byte[] data, int from, int length) {
        out.write(22);
        out.write(3);
        out.write(1);
        out.write(length >> 8);
        out.write(length);
        out.write(data, from, length);
    }

    // --- a post-quantum key share makes a large hello ---

    @Test
    void postQuantumKeyShareOfNearlyTwoKilobytes() {
        byte[] body = postQuantumHello();
        assertThat(body.length).isBetween(1700, 2000);
        TlsHello hello = parse(body);
        // The key share's contents do not enter JA4: the same fingerprint as the hello it was built from.
        assertThat(hello.ja4()).isEqualTo("t13d3111h2_e8f1e7e78f70_1f22a2ca17c4");
        assertThat(hello.sni()).contains("example.com");
    }

    /**
     * openssl's TLS 1.3 hello with its key share replaced by X25519MLKEM768 (group 0x11ec, a 1216-byte share),
     * X25519 and P-256, and a session ticket offered for resumption: about 1.8 KB, as a browser sends it.
     */
    static byte[] postQuantumHello() {
        Hello h = Hello.from(capture(OPENSSL_TLS13));
        ByteArrayOutputStream shares = new ByteArrayOutputStream();
        writeShare(shares, 0x11ec, 1216);
        writeShare(shares, 0x001d, 32);
        writeShare(shares, 0x0017, 65);
        byte[] list = shares.toByteArray();
        ByteArrayOutputStream keyShare = new ByteArrayOutputStream();
        u16(keyShare, list.length);
        keyShare.writeBytes(list);
        h.replace(0x0033, keyShare.toByteArray());
        byte[] ticket = new byte[192];
        new Random(0x23).nextBytes(ticket);
        h.replace(0x0023, ticket);
        return h.body();
    }

    private static void writeShare(ByteArrayOutputStream out, int group, int length) {
        u16(out, group);
        u16(out, length);
        byte[] key = new byte[length];
        new Random(group).nextBytes(key);
        out.writeBytes(key);
    }

    // --- SNI ---

    @Test
    void sniIsLowerCasedAndOtherNameTypesAreSkipped() {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        list.write(7);
        u16(list, 3);
        list.writeBytes(new byte[] {1, 2, 3});
        list.write(0);
        u16(list, 15);
        list.writeBytes("WWW.Example.ORG".getBytes(StandardCharsets.US_ASCII));
        list.write(0);
        u16(list, 5);
        list.writeBytes("other".getBytes(StandardCharsets.US_ASCII));
        Hello h = new Hello();
        h.ext(0x0000, withU16Length(list.toByteArray()));
        TlsHello hello = parse(h.body());
        assertThat(hello.sni()).as("first host_name").contains("www.example.org");
        assertThat(hello.ja4()).startsWith("t12d0101");
    }

    @Test
    void sniWithOnlyAnotherNameTypeNamesNoHostButCountsAsSni() {
        Hello h = new Hello();
        h.ext(0x0000, sni(1, "example.com"));
        TlsHello hello = parse(h.body());
        assertThat(hello.sni()).isEmpty();
        assertThat(hello.ja4()).startsWith("t12d");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "exa mple.com", "example.com\u0000", "ex\u00e4mple.com", "\u007f"})
    void hostNameMustBeNonEmptyPrintableAscii(String name) {
        Hello h = new Hello();
        h.ext(0x0000, sni(0, name));
        assertMalformed(h.body());
    }

    // --- ALPN first and last characters (JA4.md's examples) ---

    @ParameterizedTest
    @CsvSource({
        "6832, h2", "687474702f312e31, h1", "61, aa", "ab, ab", "20, 20", "abcd, ad", "2061, 21", "30ab, 3b",
        "6120, 60", "3031abcd, 3d", "30abcd31, 01"})
    void alpnCharacters(String firstProtocolHex, String expected) {
        Hello h = new Hello();
        h.ext(0x0010, alpnBytes(ByteBufUtil.decodeHexDump(firstProtocolHex), "h2".getBytes(StandardCharsets.US_ASCII)));
        TlsHello hello = parse(h.body());
        assertThat(hello.ja4().substring(8, 10)).isEqualTo(expected);
        assertThat(hello.alpn()).hasSize(2);
    }

    @Test
    void noAlpnIsZeroZeroAndNoExtensionsAtAllIsLegal() {
        Hello h = new Hello();
        h.noExtensionsBlock = true;
        TlsHello hello = parse(h.body());
        // No extensions: c is twelve zeros.
        assertThat(hello.ja4()).isEqualTo("t12i010000_" + HASH_C02F + "_000000000000");
        assertThat(hello.versions()).containsExactly("TLSv1.2");
    }

    @Test
    void unknownVersionsAreNamedInHexAndFingerprintAsZeroZero() {
        Hello h = new Hello();
        h.ext(0x002b, supportedVersions(0x7f1c, 0x0303));
        TlsHello hello = parse(h.body());
        assertThat(hello.versions()).containsExactly("0x7f1c", "TLSv1.2");
        assertThat(hello.ja4()).as("the highest, unknown").startsWith("t00i");
    }

    @Test
    void countsAreCappedAt99() {
        Hello h = new Hello();
        h.ciphers = new int[150];
        for (int i = 0; i < h.ciphers.length; i++) {
            h.ciphers[i] = 0x1000 + i;
        }
        for (int i = 0; i < 120; i++) {
            h.ext(0x1000 + i, new byte[0]);
        }
        assertThat(parse(h.body()).ja4()).startsWith("t12i9999");
    }

    // --- malformed ---

    @Test
    void everyTruncationOfARealHelloIsMalformed() {
        for (String name : CAPTURES) {
            byte[] body = capture(name);
            int sessionIdLength = body[34] & 0xff;
            int cipherLength = ((body[35 + sessionIdLength] & 0xff) << 8) | (body[36 + sessionIdLength] & 0xff);
            int compressionAt = 37 + sessionIdLength + cipherLength;
            int extensionsAt = compressionAt + 1 + (body[compressionAt] & 0xff);
            for (int length = 0; length < body.length; length++) {
                byte[] prefix = java.util.Arrays.copyOf(body, length);
                if (length == extensionsAt) {
                    // Ends where the extensions would start: a legal hello without extensions.
                    assertThat(parse(prefix).sni()).isEmpty();
                } else {
                    assertMalformed(prefix);
                }
            }
        }
    }

    @Test
    void randomByteFlipsEitherParseOrAreMalformed() {
        Random random = new Random(0x7ea11e110L);
        int parsed = 0;
        int malformed = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] body = capture(CAPTURES.get(i % CAPTURES.size())).clone();
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) {
                body[random.nextInt(body.length)] ^= (byte) (1 + random.nextInt(255));
            }
            ByteBuf buf = Unpooled.wrappedBuffer(body);
            try {
                ClientHelloParser.parse(buf);
                parsed++;
            } catch (MalformedClientHelloException e) {
                malformed++;
            } finally {
                buf.release();
            }
        }
        // Both outcomes occur, so the corruption reaches past the framing checks and into the parsed fields.
        assertThat(parsed).isPositive();
        assertThat(malformed).isPositive();
    }

    @Test
    void lengthsThatDoNotAddUp() {
        Hello odd = new Hello();
        odd.ciphers = new int[] {0xc02f};
        byte[] body = odd.body();
        body[2 + 32 + 1 + 32] = 0;
        body[2 + 32 + 1 + 32 + 1] = 3; // odd cipher_suites length
        assertMalformed(body);

        assertMalformed(withByte(new Hello().body(), 34, 33)); // session_id longer than 32

        Hello noCiphers = new Hello();
        noCiphers.ciphers = new int[0];
        assertMalformed(noCiphers.body());

        Hello noCompression = new Hello();
        noCompression.compression = new byte[0];
        assertMalformed(noCompression.body());

        byte[] trailing = java.util.Arrays.copyOf(new Hello().body(), new Hello().body().length + 1);
        assertMalformed(trailing); // a byte after the extensions
    }

    @Test
    void extensionsMustBeWellFormed() {
        assertMalformed(new Hello().ext(0x0010, new byte[] {0, 0}).body()); // empty ALPN list
        assertMalformed(new Hello().ext(0x0010, new byte[] {0, 2, 0, 0}).body()); // empty protocol name
        assertMalformed(new Hello().ext(0x0010, new byte[] {0, 3, 5, 'h', '2'}).body()); // name overruns list
        assertMalformed(new Hello().ext(0x0010, new byte[] {0, 4, 2, 'h', '2'}).body()); // list overruns extension
        assertMalformed(new Hello().ext(0x0000, new byte[] {0, 0}).body()); // empty server_name list
        assertMalformed(new Hello().ext(0x0000, new byte[] {0, 4, 0, 0, 9, 'a'}).body()); // name overruns
        assertMalformed(new Hello().ext(0x002b, new byte[] {3, 3, 4, 3}).body()); // odd version list
        assertMalformed(new Hello().ext(0x002b, new byte[] {0}).body()); // no versions
        assertMalformed(new Hello().ext(0x000d, new byte[] {0, 0}).body()); // no signature schemes
        assertMalformed(new Hello().ext(0x000d, new byte[] {0, 3, 4, 3, 5}).body()); // odd scheme list
        assertMalformed(new Hello().ext(0x0017, new byte[0]).ext(0x0017, new byte[0]).body()); // duplicate
        assertMalformed(new Hello().ext(0x0000, sni(0, "a.example")).ext(0x0000, sni(0, "b.example")).body());

        byte[] body = new Hello().ext(0x0017, new byte[] {1, 2}).body();
        body[body.length - 3] = 3; // the extension's length runs past the block
        assertMalformed(body);
    }

    // --- helpers ---

    private static TlsHello parse(byte[] body) {
        ByteBuf buf = Unpooled.wrappedBuffer(body);
        try {
            return ClientHelloParser.parse(buf);
        } finally {
            buf.release();
        }
    }

    private static void assertMalformed(byte[] body) {
        ByteBuf buf = Unpooled.wrappedBuffer(body);
        try {
            assertThatThrownBy(() -> ClientHelloParser.parse(buf))
                    .as("%d bytes: %s", body.length, ByteBufUtil.hexDump(body))
                    .isExactlyInstanceOf(MalformedClientHelloException.class)
                    .hasMessageStartingWith("malformed ClientHello at offset ");
        } finally {
            buf.release();
        }
    }

    static byte[] capture(String name) {
        try (InputStream in = ClientHelloParserTest.class.getResourceAsStream("/tls/" + name + ".hex")) {
            if (in == null) {
                throw new IllegalStateException("no capture " + name);
            }
            return ByteBufUtil.decodeHexDump(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] withByte(byte[] body, int at, int value) {
        body[at] = (byte) value;
        return body;
    }

    private static int[] prepend(int first, int[] rest) {
        int[] out = new int[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    private static void u16(ByteArrayOutputStream out, int value) {
        out.write(value >> 8);
        out.write(value);
    }

    private static byte[] withU16Length(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        u16(out, data.length);
        out.writeBytes(data);
        return out.toByteArray();
    }

    static byte[] u16List(int... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        u16(out, values.length * 2);
        for (int v : values) {
            u16(out, v);
        }
        return out.toByteArray();
    }

    static byte[] supportedVersions(int... versions) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(versions.length * 2);
        for (int v : versions) {
            u16(out, v);
        }
        return out.toByteArray();
    }

    static byte[] sni(int nameType, String name) {
        byte[] bytes = name.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        list.write(nameType);
        u16(list, bytes.length);
        list.writeBytes(bytes);
        return withU16Length(list.toByteArray());
    }

    static byte[] alpn(String... protocols) {
        byte[][] bytes = new byte[protocols.length][];
        for (int i = 0; i < protocols.length; i++) {
            bytes[i] = protocols[i].getBytes(StandardCharsets.US_ASCII);
        }
        return alpnBytes(bytes);
    }

    static byte[] alpnBytes(byte[]... protocols) {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        for (byte[] p : protocols) {
            list.write(p.length);
            list.writeBytes(p);
        }
        return withU16Length(list.toByteArray());
    }

    /** A ClientHello body built field by field; by default TLS 1.2, one cipher, null compression, no extensions. */
    static final class Hello {
        int legacyVersion = 0x0303;
        byte[] sessionId = new byte[32];
        int[] ciphers = {0xc02f};
        byte[] compression = {0};
        boolean noExtensionsBlock;
        final List<int[]> types = new ArrayList<>();
        final List<byte[]> data = new ArrayList<>();

        Hello ext(int type, byte[] bytes) {
            types.add(new int[] {type});
            data.add(bytes);
            return this;
        }

        void replace(int type, byte[] bytes) {
            for (int i = 0; i < types.size(); i++) {
                if (types.get(i)[0] == type) {
                    data.set(i, bytes);
                    return;
                }
            }
            throw new IllegalArgumentException("no extension " + type);
        }

        /** Splits a real hello into its fields (trusting its lengths). */
        static Hello from(byte[] body) {
            Hello h = new Hello();
            ByteBuf in = Unpooled.wrappedBuffer(body);
            h.legacyVersion = in.readUnsignedShort();
            in.skipBytes(32);
            h.sessionId = new byte[in.readUnsignedByte()];
            in.readBytes(h.sessionId);
            h.ciphers = new int[in.readUnsignedShort() / 2];
            for (int i = 0; i < h.ciphers.length; i++) {
                h.ciphers[i] = in.readUnsignedShort();
            }
            h.compression = new byte[in.readUnsignedByte()];
            in.readBytes(h.compression);
            in.skipBytes(2);
            while (in.isReadable()) {
                int type = in.readUnsignedShort();
                byte[] bytes = new byte[in.readUnsignedShort()];
                in.readBytes(bytes);
                h.ext(type, bytes);
            }
            in.release();
            return h;
        }

        byte[] body() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            u16(out, legacyVersion);
            out.writeBytes(new byte[32]);
            out.write(sessionId.length);
            out.writeBytes(sessionId);
            u16(out, ciphers.length * 2);
            for (int c : ciphers) {
                u16(out, c);
            }
            out.write(compression.length);
            out.writeBytes(compression);
            if (!noExtensionsBlock) {
                ByteArrayOutputStream ext = new ByteArrayOutputStream();
                for (int i = 0; i < types.size(); i++) {
                    u16(ext, types.get(i)[0]);
                    u16(ext, data.get(i).length);
                    ext.writeBytes(data.get(i));
                }
                u16(out, ext.size());
                out.writeBytes(ext.toByteArray());
            }
            return out.toByteArray();
        }
    }
}
