package io.portcullis.policy.fingerprint;

import java.util.Optional;

/**
 * The shape of a JA4 TLS client fingerprint (FoxIO's JA4 specification), e.g.
 * {@code t13d1516h2_8daaf6152771_e5627efa2ab1}: 36 ASCII characters in three parts joined by {@code _}.
 *
 * <ul>
 *   <li>a, 10 characters: transport ({@code t} TCP, {@code q} QUIC, {@code d} DTLS); TLS version, two
 *       characters ({@code 13}, {@code 12}, {@code 11}, {@code 10}, {@code s3}, {@code s2}, {@code d1},
 *       {@code d2}, {@code d3}, {@code 00} unknown; any digit pair is taken, for versions to come);
 *       {@code d} (SNI sent) or {@code i} (none); cipher count and extension count, two digits each
 *       (capped at 99); the first and last alphanumeric character of the first ALPN value ({@code 00}
 *       without ALPN; a letter, a digit, or a hex digit of the value's bytes);</li>
 *   <li>b and c, 12 hex digits each: truncated SHA-256 hashes of ciphers and of extensions.</li>
 * </ul>
 * Compared without regard to case, so fingerprints are kept in lower case. (JA4 keeps the ALPN
 * characters' case, so {@code H2} and {@code h2} clients are not told apart here.)
 */
public final class Ja4 {

    /** Length of every JA4 fingerprint. */
    public static final int LENGTH = 36;

    /** An example for messages. */
    public static final String EXAMPLE = "t13d1516h2_8daaf6152771_e5627efa2ab1";

    private static final int A_LENGTH = 10;
    private static final int HASH_LENGTH = 12;

    private Ja4() {
    }

    /** The fingerprint in lower case, or empty when {@code text} is not one (see {@link #problem}). */
    public static Optional<String> normalize(String text) {
        return problem(text).isPresent() ? Optional.empty() : Optional.of(lowerAscii(text));
    }

    /**
     * What is wrong with {@code text} as a JA4 fingerprint, worded for "bad JA4 fingerprint 'text': …";
     * empty when it is one.
     */
    public static Optional<String> problem(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c <= ' ' || c >= 0x7F) {
                return Optional.of("only ASCII letters, digits and '_' belong in a fingerprint");
            }
        }
        String lower = lowerAscii(text);
        int first = lower.indexOf('_');
        int second = first < 0 ? -1 : lower.indexOf('_', first + 1);
        if (second < 0 || lower.indexOf('_', second + 1) >= 0) {
            return Optional.of("expected three parts joined by '_'");
        }
        if (first != A_LENGTH || !partA(lower)) {
            return Optional.of("its first part '" + text.substring(0, first) + "' should be 10 characters: t, q or d;"
                    + " a TLS version such as 13, 12 or s3; d or i; two 2-digit counts; two ALPN characters");
        }
        if (second - first - 1 != HASH_LENGTH || !hex(lower, first + 1, second)) {
            return Optional.of("its second part should be 12 hex digits");
        }
        if (lower.length() - second - 1 != HASH_LENGTH || !hex(lower, second + 1, lower.length())) {
            return Optional.of("its third part should be 12 hex digits");
        }
        return Optional.empty();
    }

    private static boolean partA(String a) {
        char transport = a.charAt(0);
        char version = a.charAt(1);
        char sni = a.charAt(3);
        return (transport == 't' || transport == 'q' || transport == 'd')
                && (digit(version) || version == 's' || version == 'd') && digit(a.charAt(2))
                && (sni == 'd' || sni == 'i')
                && digit(a.charAt(4)) && digit(a.charAt(5)) && digit(a.charAt(6)) && digit(a.charAt(7))
                && alphanumeric(a.charAt(8)) && alphanumeric(a.charAt(9));
    }

    private static boolean hex(String text, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (!digit(c) && (c < 'a' || c > 'f')) {
                return false;
            }
        }
        return true;
    }

    private static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean alphanumeric(char c) {
        return digit(c) || c >= 'a' && c <= 'z';
    }

    /** ASCII letters in lower case; other characters as they are (no locale, no length change). */
    static String lowerAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                char[] chars = text.toCharArray();
                for (int k = i; k < chars.length; k++) {
                    if (chars[k] >= 'A' && chars[k] <= 'Z') {
                        chars[k] = (char) (chars[k] + ('a' - 'A'));
                    }
                }
                return new String(chars);
            }
        }
        return text;
    }
}
