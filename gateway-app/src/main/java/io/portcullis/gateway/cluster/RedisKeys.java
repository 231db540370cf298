package io.portcullis.gateway.cluster;

import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.RateLimit;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * The Redis keys of cluster-scope limiter state, one per limiter and key:
 *
 * <pre>
 * portcullis:rate:{listener}:{rule}:{shape}:{key}       a Bucket4j token bucket (a string)
 * portcullis:conc:{listener}:{rule}:{limiter-key}:{key}  the leases of a concurrency limit (a sorted set)
 * </pre>
 *
 * where {@code shape} is what shapes a bucket ({@code 10/PT1S,b20,source-ip}: rate, burst, limiter key), so a
 * changed rate starts a fresh bucket, and {@code limiter-key} is the {@code key:} of the limit ({@code source-ip},
 * {@code source-cidr/24}, {@code listener}).
 *
 * <p>One key for one state, whatever the text: in every part {@code %} and the characters that would make a key
 * ambiguous or awkward ({@code :} except in the last part, {@code ~ { }}, white space and control characters, lone
 * surrogates) are percent-escaped ({@code %3A}; a lone surrogate as {@code %uD800}), so the parts split again at the
 * colons and an IPv6 key stays readable at the end. A part longer than {@value #MAX_PART_BYTES} UTF-8 bytes once
 * escaped becomes {@code ~} and the base64url SHA-256 of its text, which no escaped part can spell (a {@code ~} is
 * always escaped): a key is at most {@value #MAX_KEY_BYTES} bytes whatever it is given. Any thread.
 */
final class RedisKeys {

    /** Longest part kept as text, in UTF-8 bytes after escaping; a longer one is hashed. */
    static final int MAX_PART_BYTES = 128;

    /** The longest key: a prefix of 16, four parts and four colons. */
    static final int MAX_KEY_BYTES = 16 + 4 * MAX_PART_BYTES + 4;

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private RedisKeys() {
    }

    /** The bucket of {@code key}; {@code shape} from {@link #shape(RateLimit)}, already a key part. */
    static String rate(String listener, String rule, String shape, String key) {
        StringBuilder out = new StringBuilder(64).append("portcullis:rate:");
        appendPart(out, listener, false);
        out.append(':');
        appendPart(out, rule, false);
        out.append(':').append(shape).append(':');
        appendPart(out, key, true);
        return out.toString();
    }

    /** The leases of {@code key}. */
    static String concurrency(String listener, String rule, ConcurrencyLimit settings, String key) {
        StringBuilder out = new StringBuilder(64).append("portcullis:conc:");
        appendPart(out, listener, false);
        out.append(':');
        appendPart(out, rule, false);
        out.append(':');
        appendPart(out, settings.key().toString(), false);
        out.append(':');
        appendPart(out, key, true);
        return out.toString();
    }

    /** What shapes a bucket, as a key part: {@code 10/PT1S,b20,source-ip}. */
    static String shape(RateLimit settings) {
        StringBuilder out = new StringBuilder(32);
        appendPart(out, settings.tokens() + "/" + settings.period() + ",b" + settings.burst() + "," + settings.key(),
                false);
        return out.toString();
    }

    /** Appends {@code part} escaped, or hashed when it is too long. */
    static void appendPart(StringBuilder out, String part, boolean colonAllowed) {
        int start = out.length();
        int bytes = 0;
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            if (c >= 0x80) {
                if (Character.isHighSurrogate(c) && i + 1 < part.length()
                        && Character.isLowSurrogate(part.charAt(i + 1))) {
                    out.append(c).append(part.charAt(++i));
                    bytes += 4;
                } else if (Character.isSurrogate(c)) {
                    out.append("%u").append(HEX[c >>> 12]).append(HEX[c >>> 8 & 0xF]).append(HEX[c >>> 4 & 0xF])
                            .append(HEX[c & 0xF]);
                    bytes += 6;
                } else {
                    out.append(c);
                    bytes += c < 0x800 ? 2 : 3;
                }
            } else if (c <= 0x20 || c == 0x7F || c == '%' || c == '~' || c == '{' || c == '}'
                    || c == ':' && !colonAllowed) {
                out.append('%').append(HEX[c >>> 4]).append(HEX[c & 0xF]);
                bytes += 3;
            } else {
                out.append(c);
                bytes++;
            }
            if (bytes > MAX_PART_BYTES) {
                out.setLength(start);
                out.append('~').append(hash(part));
                return;
            }
        }
    }

    private static String hash(String part) {
        try {
            // a lone surrogate becomes '?' in UTF-8: hash the UTF-16 code units so that no two texts meet
            byte[] units = new byte[part.length() * 2];
            for (int i = 0; i < part.length(); i++) {
                units[2 * i] = (byte) (part.charAt(i) >>> 8);
                units[2 * i + 1] = (byte) part.charAt(i);
            }
            return Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(MessageDigest.getInstance("SHA-256").digest(units));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
