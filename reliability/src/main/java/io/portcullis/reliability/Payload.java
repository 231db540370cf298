package io.portcullis.reliability;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A deterministic byte stream per seed: byte i is the same whatever the write sizes, so both ends can hash it. */
final class Payload {

    private Payload() {
    }

    /** Fills {@code buf[0..len)} with bytes {@code offset..offset+len} of stream {@code seed}. */
    static void fill(long seed, long offset, byte[] buf, int len) {
        for (int i = 0; i < len; i++) {
            long at = offset + i;
            buf[i] = (byte) (mix(seed ^ (at >>> 3) * 0x9E3779B97F4A7C15L) >>> ((at & 7) * 8));
        }
    }

    /** SHA-256 of the first {@code length} bytes of stream {@code seed}. */
    static byte[] sha256(long seed, long length) {
        MessageDigest md = sha256();
        byte[] buf = new byte[65536];
        for (long off = 0; off < length; off += buf.length) {
            int n = (int) Math.min(buf.length, length - off);
            fill(seed, off, buf, n);
            md.update(buf, 0, n);
        }
        return md.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
