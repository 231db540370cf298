package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Parses a TLS ClientHello (RFC 8446 section 4.1.2, RFC 5246 section 7.4.1.2) into a {@link TlsHello}, with its
 * JA4 fingerprint (FoxIO, {@code technical_details/JA4.md}).
 *
 * <p>The input is the handshake message's body, after the 4-byte handshake header: what Netty's
 * {@code SslClientHelloHandler} hands to {@code lookup(ctx, clientHello)}. Reads are absolute gets between the
 * reader and the writer index; the buffer's indices are left as they were. Every read is bounds-checked first,
 * so a malformed hello fails with {@link MalformedClientHelloException} and nothing else. Work is linear in the
 * body's size: every count is bounded by the lengths that frame it. Any thread.
 *
 * <p>Checked as strictly as OpenSSL's server checks them, so the gateway and a TLS backend agree on what the
 * hello says: the framing lengths must add up exactly, an extension may appear once, and the extensions read
 * here ({@code server_name}, ALPN, {@code supported_versions}, {@code signature_algorithms}) must be well formed.
 * Other extensions are skipped by their length.
 */
final class ClientHelloParser {

    private static final int EXT_SERVER_NAME = 0x0000;
    private static final int EXT_SIGNATURE_ALGORITHMS = 0x000d;
    private static final int EXT_ALPN = 0x0010;
    private static final int EXT_SUPPORTED_VERSIONS = 0x002b;
    private static final int NAME_TYPE_HOST_NAME = 0;
    private static final int RANDOM_LENGTH = 32;
    private static final int MAX_SESSION_ID_LENGTH = 32;
    private static final int MAX_JA4_COUNT = 99;
    private static final String EMPTY_HASH = "000000000000";
    /**
     * One digest per thread (digest() leaves it reset): {@code MessageDigest.getInstance} looks the provider up on
     * every call, twice per hello on the I/O thread.
     */
    private static final FastThreadLocal<MessageDigest> SHA256 = new FastThreadLocal<>() {
        @Override
        protected MessageDigest initialValue() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                // Every Java platform must provide SHA-256 (MessageDigest's javadoc).
                throw new IllegalStateException(e);
            }
        }
    };
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private ClientHelloParser() {
    }

    /**
     * @param body the ClientHello's body, after the handshake header; neither its indices nor its reference
     *             count change
     * @return what the hello offers
     * @throws MalformedClientHelloException when the body is not a well-formed ClientHello
     */
    static TlsHello parse(ByteBuf body) {
        Cursor in = new Cursor(body, body.readerIndex(), body.readerIndex(), body.writerIndex());

        int legacyVersion = in.u16("legacy_version");
        in.skip(RANDOM_LENGTH, "random");
        int sessionIdLength = in.u8("session_id length");
        if (sessionIdLength > MAX_SESSION_ID_LENGTH) {
            throw in.malformed("session_id length " + sessionIdLength + " > " + MAX_SESSION_ID_LENGTH);
        }
        in.skip(sessionIdLength, "session_id");

        int cipherBytes = in.u16("cipher_suites length");
        if (cipherBytes == 0 || (cipherBytes & 1) != 0) {
            throw in.malformed("cipher_suites length " + cipherBytes + " is not a positive even number");
        }
        in.need(cipherBytes, "cipher_suites");
        int[] ciphers = new int[cipherBytes / 2];
        int cipherCount = 0;
        for (int i = 0; i < cipherBytes; i += 2) {
            int suite = in.u16("cipher suite");
            if (!isGrease(suite)) {
                ciphers[cipherCount++] = suite;
            }
        }

        int compressionLength = in.u8("compression_methods length");
        if (compressionLength == 0) {
            throw in.malformed("no compression methods");
        }
        in.skip(compressionLength, "compression_methods");

        Extensions ext = new Extensions();
        // Before TLS 1.3 the extensions block may be absent altogether; when present it fills the rest exactly.
        if (in.remaining() > 0) {
            int extensionBytes = in.u16("extensions length");
            if (extensionBytes != in.remaining()) {
                throw in.malformed("extensions length " + extensionBytes + " but " + in.remaining()
                        + " bytes follow");
            }
            readExtensions(in, ext);
        }

        List<String> versions = new ArrayList<>();
        int ja4Version;
        if (ext.supportedVersions != null) {
            ja4Version = -1;
            for (int v : ext.supportedVersions) {
                if (!isGrease(v)) {
                    versions.add(versionName(v));
                    ja4Version = Math.max(ja4Version, v);
                }
            }
        } else {
            versions.add(versionName(legacyVersion));
            ja4Version = legacyVersion;
        }
        String ja4 = ja4(ja4Version, ext, Arrays.copyOf(ciphers, cipherCount));
        return new TlsHello(Optional.ofNullable(ext.hostName), ext.alpn, versions, ja4);
    }

    /** What the extensions say, as far as the fingerprint and the record need it. */
    private static final class Extensions {
        /** Every extension type in order, GREASE included (for the duplicate check). */
        int[] types = new int[0];
        int count;
        boolean serverName;
        String hostName;
        List<String> alpn = List.of();
        int[] supportedVersions;
        int[] signatureAlgorithms = new int[0];
    }

    private static void readExtensions(Cursor in, Extensions ext) {
        // An extension takes 4 bytes at least, so the block bounds the count.
        ext.types = new int[in.remaining() / 4];
        while (in.remaining() > 0) {
            int type = in.u16("extension type");
            int length = in.u16("extension length");
            int start = in.pos;
            in.need(length, "extension 0x" + hex4(type));
            ext.types[ext.count++] = type;
            Cursor data = new Cursor(in.buf, in.origin, start, start + length);
            switch (type) {
                case EXT_SERVER_NAME:
                    ext.serverName = true;
                    ext.hostName = readServerName(data);
                    break;
                case EXT_ALPN:
                    ext.alpn = readAlpn(data);
                    break;
                case EXT_SUPPORTED_VERSIONS:
                    ext.supportedVersions = readSupportedVersions(data);
                    break;
                case EXT_SIGNATURE_ALGORITHMS:
                    ext.signatureAlgorithms = readSignatureAlgorithms(data);
                    break;
                default:
                    break;
            }
            in.pos = start + length;
        }
        int[] sorted = Arrays.copyOf(ext.types, ext.count);
        Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] == sorted[i - 1]) {
                throw in.malformed("extension 0x" + hex4(sorted[i]) + " appears more than once");
            }
        }
    }

    /** RFC 6066 section 3: the first host_name, lower-cased; other name types are skipped. */
    private static String readServerName(Cursor in) {
        int listLength = in.u16("server_name list length");
        if (listLength == 0 || listLength != in.remaining()) {
            throw in.malformed("server_name list length " + listLength + " but " + in.remaining()
                    + " bytes follow");
        }
        String hostName = null;
        while (in.remaining() > 0) {
            int nameType = in.u8("server_name name_type");
            int nameLength = in.u16("server_name length");
            in.need(nameLength, "server_name");
            if (nameType == NAME_TYPE_HOST_NAME && hostName == null) {
                hostName = hostName(in, nameLength);
            }
            in.pos += nameLength;
        }
        return hostName;
    }

    private static String hostName(Cursor in, int length) {
        if (length == 0) {
            throw in.malformed("empty host_name");
        }
        char[] chars = new char[length];
        for (int i = 0; i < length; i++) {
            int b = in.buf.getUnsignedByte(in.pos + i);
            // Printable ASCII only: a host name holds neither spaces, controls nor raw non-ASCII (IDNs are A-labels).
            if (b <= 0x20 || b >= 0x7f) {
                throw in.malformed("host_name byte 0x" + Integer.toHexString(b) + " at " + i + " is not printable ASCII");
            }
            chars[i] = (b >= 'A' && b <= 'Z') ? (char) (b + ('a' - 'A')) : (char) b;
        }
        return new String(chars);
    }

    /** RFC 7301 section 3.1: a non-empty list of non-empty names. */
    private static List<String> readAlpn(Cursor in) {
        int listLength = in.u16("ALPN list length");
        if (listLength == 0 || listLength != in.remaining()) {
            throw in.malformed("ALPN list length " + listLength + " but " + in.remaining() + " bytes follow");
        }
        List<String> protocols = new ArrayList<>();
        while (in.remaining() > 0) {
            int nameLength = in.u8("ALPN protocol length");
            if (nameLength == 0) {
                throw in.malformed("empty ALPN protocol name");
            }
            in.need(nameLength, "ALPN protocol");
            protocols.add(in.buf.toString(in.pos, nameLength, StandardCharsets.ISO_8859_1));
            in.pos += nameLength;
        }
        return protocols;
    }

    /** RFC 8446 section 4.2.1: a one-byte length, then 1 to 127 versions. */
    private static int[] readSupportedVersions(Cursor in) {
        int listLength = in.u8("supported_versions length");
        if (listLength == 0 || (listLength & 1) != 0 || listLength != in.remaining()) {
            throw in.malformed("supported_versions length " + listLength + " but " + in.remaining()
                    + " bytes follow");
        }
        return in.u16s(listLength / 2, "supported version");
    }

    /** RFC 8446 section 4.2.3: a non-empty list of two-byte schemes. */
    private static int[] readSignatureAlgorithms(Cursor in) {
        int listLength = in.u16("signature_algorithms length");
        if (listLength == 0 || (listLength & 1) != 0 || listLength != in.remaining()) {
            throw in.malformed("signature_algorithms length " + listLength + " but " + in.remaining()
                    + " bytes follow");
        }
        return in.u16s(listLength / 2, "signature scheme");
    }

    /** JA4 for TLS over TCP: {@code a_b_c} as FoxIO's JA4.md defines them. */
    private static String ja4(int version, Extensions ext, int[] ciphers) {
        StringBuilder a = new StringBuilder(10);
        a.append('t').append(ja4Version(version)).append(ext.serverName ? 'd' : 'i');
        int extensionCount = 0;
        int[] hashed = new int[ext.count];
        int hashedCount = 0;
        for (int i = 0; i < ext.count; i++) {
            int type = ext.types[i];
            if (isGrease(type)) {
                continue;
            }
            extensionCount++;
            // SNI and ALPN are in part a already; leaving them out of c keeps c alike across names and protocols.
            if (type != EXT_SERVER_NAME && type != EXT_ALPN) {
                hashed[hashedCount++] = type;
            }
        }
        twoDigits(a, ciphers.length);
        twoDigits(a, extensionCount);
        alpnChars(a, ext.alpn.isEmpty() ? null : ext.alpn.get(0));

        Arrays.sort(ciphers);
        String b = hash12(joinHex(new StringBuilder(), ciphers, ciphers.length));

        int[] sorted = Arrays.copyOf(hashed, hashedCount);
        Arrays.sort(sorted);
        StringBuilder c = joinHex(new StringBuilder(), sorted, sorted.length);
        int[] schemes = new int[ext.signatureAlgorithms.length];
        int schemeCount = 0;
        for (int scheme : ext.signatureAlgorithms) {
            if (!isGrease(scheme)) {
                schemes[schemeCount++] = scheme;
            }
        }
        if (schemeCount > 0) {
            joinHex(c.append('_'), schemes, schemeCount);
        }
        return a.append('_').append(b).append('_').append(hash12(c)).toString();
    }

    private static String ja4Version(int version) {
        switch (version) {
            case 0x0304: return "13";
            case 0x0303: return "12";
            case 0x0302: return "11";
            case 0x0301: return "10";
            case 0x0300: return "s3";
            case 0x0002: return "s2";
            default: return "00";
        }
    }

    private static String versionName(int version) {
        switch (version) {
            case 0x0304: return "TLSv1.3";
            case 0x0303: return "TLSv1.2";
            case 0x0302: return "TLSv1.1";
            case 0x0301: return "TLSv1";
            case 0x0300: return "SSLv3";
            default: return "0x" + hex4(version);
        }
    }

    private static void twoDigits(StringBuilder out, int count) {
        int capped = Math.min(count, MAX_JA4_COUNT);
        out.append((char) ('0' + capped / 10)).append((char) ('0' + capped % 10));
    }

    /**
     * First and last character of the first ALPN protocol ("00" if none); when either is not an ASCII letter or
     * digit, the first and last hex digit of the whole protocol's bytes instead. One character counts as both.
     * (JA4.md's rule; FoxIO's ja4.py and Rust ja4 still print "99" for a non-ASCII first byte.)
     */
    private static void alpnChars(StringBuilder out, String protocol) {
        if (protocol == null || protocol.isEmpty()) {
            out.append("00");
            return;
        }
        char first = protocol.charAt(0);
        char last = protocol.charAt(protocol.length() - 1);
        if (isAlphanumeric(first) && isAlphanumeric(last)) {
            out.append(first).append(last);
        } else {
            out.append(HEX[(first >> 4) & 0xf]).append(HEX[last & 0xf]);
        }
    }

    private static boolean isAlphanumeric(char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }

    /** RFC 8701: 0x?a?a with both bytes equal. */
    static boolean isGrease(int value) {
        return (value & 0x0f0f) == 0x0a0a && (value >> 8) == (value & 0xff);
    }

    private static StringBuilder joinHex(StringBuilder out, int[] values, int count) {
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                out.append(',');
            }
            appendHex4(out, values[i]);
        }
        return out;
    }

    private static void appendHex4(StringBuilder out, int value) {
        out.append(HEX[(value >> 12) & 0xf]).append(HEX[(value >> 8) & 0xf])
                .append(HEX[(value >> 4) & 0xf]).append(HEX[value & 0xf]);
    }

    private static String hex4(int value) {
        StringBuilder out = new StringBuilder(4);
        appendHex4(out, value);
        return out.toString();
    }

    /** The first 12 hex digits of the SHA-256 of {@code text}; twelve zeros for no text (JA4.md). */
    private static String hash12(CharSequence text) {
        if (text.length() == 0) {
            return EMPTY_HASH;
        }
        byte[] digest = SHA256.get().digest(text.toString().getBytes(StandardCharsets.US_ASCII));
        StringBuilder out = new StringBuilder(12);
        for (int i = 0; i < 6; i++) {
            out.append(HEX[(digest[i] >> 4) & 0xf]).append(HEX[digest[i] & 0xf]);
        }
        return out.toString();
    }

    /** A bounds-checked read position over [pos, end) of a buffer; every read checks before it gets. */
    private static final class Cursor {
        final ByteBuf buf;
        /** Where the body starts, so messages give offsets into the body. */
        final int origin;
        final int end;
        int pos;

        Cursor(ByteBuf buf, int origin, int from, int end) {
            this.buf = buf;
            this.origin = origin;
            this.pos = from;
            this.end = end;
        }

        int remaining() {
            return end - pos;
        }

        void need(int n, String what) {
            if (n > end - pos) {
                throw malformed(what + " needs " + n + " bytes, " + (end - pos) + " left");
            }
        }

        int u8(String what) {
            need(1, what);
            return buf.getUnsignedByte(pos++);
        }

        int u16(String what) {
            need(2, what);
            int value = buf.getUnsignedShort(pos);
            pos += 2;
            return value;
        }

        int[] u16s(int count, String what) {
            need(count * 2, what);
            int[] values = new int[count];
            for (int i = 0; i < count; i++) {
                values[i] = buf.getUnsignedShort(pos);
                pos += 2;
            }
            return values;
        }

        void skip(int n, String what) {
            need(n, what);
            pos += n;
        }

        MalformedClientHelloException malformed(String what) {
            return new MalformedClientHelloException("malformed ClientHello at offset " + (pos - origin) + ": " + what);
        }
    }
}
