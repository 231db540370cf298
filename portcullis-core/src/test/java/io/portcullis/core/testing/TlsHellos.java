package io.portcullis.core.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * TLS ClientHellos built byte by byte for tests, as a TLS 1.3 client sends them: SNI, ALPN,
 * supported versions, groups, signature algorithms and a key share of a chosen size (1,216 bytes for
 * an ML-KEM-768 hybrid share makes the hello ~1.8 KB, more than one segment).
 */
public final class TlsHellos {

    private TlsHellos() {
    }

    /** X25519MLKEM768. */
    public static final int GROUP_X25519_MLKEM768 = 0x11EC;
    public static final int GROUP_X25519 = 0x001D;

    /**
     * One ClientHello in TLS records of at most {@code fragment} bytes each.
     *
     * @param sni       server name, or null for none
     * @param alpn      protocols offered
     * @param group     the key share's group
     * @param shareSize the key share's length
     * @param fragment  record payload size at most (16384 for one record)
     */
    public static byte[] clientHello(String sni, List<String> alpn, int group, int shareSize, int fragment) {
        return records(handshake(sni, alpn, group, shareSize), fragment);
    }

    /** A typical hello: SNI, h2 and http/1.1, an X25519 share, one record. */
    public static byte[] clientHello(String sni) {
        return clientHello(sni, List.of("h2", "http/1.1"), GROUP_X25519, 32, 16384);
    }

    /** The handshake message: type, 24-bit length, body. */
    public static byte[] handshake(String sni, List<String> alpn, int group, int shareSize) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        u16(body, 0x0303);
        body.writeBytes(new byte[32]); // random
        body.write(32);
        body.writeBytes(new byte[32]); // legacy session id
        int[] ciphers = {0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F};
        u16(body, ciphers.length * 2);
        for (int c : ciphers) {
            u16(body, c);
        }
        body.write(1);
        body.write(0); // null compression
        ByteArrayOutputStream ext = new ByteArrayOutputStream();
        if (sni != null) {
            byte[] name = sni.getBytes(StandardCharsets.US_ASCII);
            ByteArrayOutputStream list = new ByteArrayOutputStream();
            list.write(0);
            u16(list, name.length);
            list.writeBytes(name);
            extension(ext, 0x0000, vector16(list.toByteArray()));
        }
        if (!alpn.isEmpty()) {
            ByteArrayOutputStream list = new ByteArrayOutputStream();
            for (String p : alpn) {
                byte[] b = p.getBytes(StandardCharsets.US_ASCII);
                list.write(b.length);
                list.writeBytes(b);
            }
            extension(ext, 0x0010, vector16(list.toByteArray()));
        }
        extension(ext, 0x002B, new byte[] {4, 0x03, 0x04, 0x03, 0x03});
        ByteArrayOutputStream groups = new ByteArrayOutputStream();
        u16(groups, group);
        u16(groups, GROUP_X25519);
        extension(ext, 0x000A, vector16(groups.toByteArray()));
        ByteArrayOutputStream sigs = new ByteArrayOutputStream();
        for (int s : new int[] {0x0403, 0x0804, 0x0401}) {
            u16(sigs, s);
        }
        extension(ext, 0x000D, vector16(sigs.toByteArray()));
        ByteArrayOutputStream share = new ByteArrayOutputStream();
        u16(share, group);
        u16(share, shareSize);
        for (int i = 0; i < shareSize; i++) {
            share.write(i * 7);
        }
        extension(ext, 0x0033, vector16(share.toByteArray()));
        if (shareSize > 1000) {
            extension(ext, 0x0015, new byte[400]); // padding, as browsers send with a hybrid share
        }
        body.writeBytes(vector16(ext.toByteArray()));

        byte[] b = body.toByteArray();
        ByteArrayOutputStream msg = new ByteArrayOutputStream();
        msg.write(1);
        msg.write(b.length >>> 16);
        u16(msg, b.length & 0xFFFF);
        msg.writeBytes(b);
        return msg.toByteArray();
    }

    /** The handshake bytes in handshake records of at most {@code fragment} bytes. */
    public static byte[] records(byte[] handshake, int fragment) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int at = 0; at < handshake.length; at += fragment) {
            int n = Math.min(fragment, handshake.length - at);
            out.write(0x16);
            u16(out, 0x0301);
            u16(out, n);
            out.write(handshake, at, n);
        }
        return out.toByteArray();
    }

    private static void extension(ByteArrayOutputStream out, int type, byte[] data) {
        u16(out, type);
        u16(out, data.length);
        out.writeBytes(data);
    }

    private static byte[] vector16(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        u16(out, data.length);
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static void u16(ByteArrayOutputStream out, int v) {
        out.write(v >>> 8);
        out.write(v & 0xFF);
    }
}
