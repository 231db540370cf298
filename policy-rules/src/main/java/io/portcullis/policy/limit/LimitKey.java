package io.portcullis.policy.limit;

import io.portcullis.policy.model.InspectRequest;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a limiter counts per ({@code key:} of {@code rate-limit} and {@code concurrency-limit}):
 *
 * <ul>
 *   <li>{@code source-ip} — each client on its own: an IPv4 address, or an IPv6 /64. A /64 is what one
 *       host or subscriber gets, and a host may use any address in it (privacy addresses, or at will),
 *       so keying by the full IPv6 address would give one client as many fresh buckets and counters
 *       as it cares to take;</li>
 *   <li>{@code source-cidr/N} — clients grouped by network. {@code N} up to 32 is the IPv4 prefix,
 *       and IPv6 clients are grouped by /64; {@code N} above 32 is the IPv6 prefix, and IPv4 clients
 *       are counted per address ({@code source-cidr/128}: every IPv6 address on its own).
 *       {@code source-cidr/V4/V6} gives both, e.g. {@code source-cidr/24/56};</li>
 *   <li>{@code listener} — all connections of the listener together.</li>
 * </ul>
 * An IPv4-mapped IPv6 client ({@code ::ffff:a.b.c.d}) counts as the IPv4 client. Connections whose
 * source address is unresolved share one key.
 *
 * @param kind       which of the three forms
 * @param ipv4Prefix bits of an IPv4 address that form the key (32 for {@code source-ip})
 * @param ipv6Prefix bits of an IPv6 address that form the key (64 for {@code source-ip})
 */
public record LimitKey(Kind kind, int ipv4Prefix, int ipv6Prefix) {

    /** The forms of a key. */
    public enum Kind { SOURCE_IP, SOURCE_CIDR, LISTENER }

    /** IPv6 prefix of {@code source-ip} and of {@code source-cidr/N} with an IPv4 {@code N}: one host's or site's /64. */
    public static final int DEFAULT_IPV6_PREFIX = 64;

    public static final LimitKey SOURCE_IP = new LimitKey(Kind.SOURCE_IP, 32, DEFAULT_IPV6_PREFIX);
    public static final LimitKey LISTENER = new LimitKey(Kind.LISTENER, 0, 0);

    /** What {@link #text} gives a connection whose source address is unresolved. */
    public static final String UNRESOLVED_TEXT = "unresolved";

    private static final Pattern CIDR = Pattern.compile("source-cidr/(\\d{1,3})(?:/(\\d{1,3}))?");
    private static final Object LISTENER_KEY = "listener";
    private static final Object UNRESOLVED_KEY = "unresolved";

    public LimitKey {
        if (ipv4Prefix < 0 || ipv4Prefix > 32 || ipv6Prefix < 0 || ipv6Prefix > 128) {
            throw new IllegalArgumentException("prefix out of range: " + ipv4Prefix + "/" + ipv6Prefix);
        }
    }

    /** The key written as {@code text}, or empty when it is none of the forms. */
    public static Optional<LimitKey> parse(String text) {
        if (text.equals("source-ip")) {
            return Optional.of(SOURCE_IP);
        }
        if (text.equals("listener")) {
            return Optional.of(LISTENER);
        }
        Matcher m = CIDR.matcher(text);
        if (!m.matches()) {
            return Optional.empty();
        }
        int first = Integer.parseInt(m.group(1));
        if (m.group(2) != null) {
            int second = Integer.parseInt(m.group(2));
            return first <= 32 && second <= 128
                    ? Optional.of(new LimitKey(Kind.SOURCE_CIDR, first, second)) : Optional.empty();
        }
        if (first <= 32) {
            return Optional.of(new LimitKey(Kind.SOURCE_CIDR, first, DEFAULT_IPV6_PREFIX));
        }
        return first <= 128 ? Optional.of(new LimitKey(Kind.SOURCE_CIDR, 32, first)) : Optional.empty();
    }

    /**
     * The key of a connection: an address masked to the prefix, or one shared object for
     * {@code listener}. Any thread; allocates one small object for address keys.
     *
     * @param sourceAddress the source address bytes (4 or 16); null when unresolved
     */
    public Object keyOf(InspectRequest request, byte[] sourceAddress) {
        if (kind == Kind.LISTENER) {
            return LISTENER_KEY;
        }
        if (sourceAddress == null) {
            return UNRESOLVED_KEY;
        }
        if (sourceAddress.length == 4) {
            return ipv4Key(intAt(sourceAddress, 0));
        }
        long high = longAt(sourceAddress, 0);
        long low = longAt(sourceAddress, 8);
        if (high == 0 && (low >>> 32) == 0xFFFFL) {
            return ipv4Key((int) low);
        }
        long highMask = ipv6Prefix == 0 ? 0 : ipv6Prefix >= 64 ? -1L : -1L << (64 - ipv6Prefix);
        long lowMask = ipv6Prefix <= 64 ? 0 : ipv6Prefix == 128 ? -1L : -1L << (128 - ipv6Prefix);
        return new AddressKey(high & highMask, low & lowMask);
    }

    /**
     * The key of a connection as text, the same for every replica, for a store shared by them: the listener's name
     * for {@code listener}; else the address masked to the key's prefix, written as an address when the prefix is
     * the whole address ({@code 192.0.2.7}, {@code 2001:db8::1}) and as a CIDR otherwise ({@code 192.0.2.0/24},
     * {@code 2001:db8:0:1::/64}; IPv6 in RFC 5952's form); {@value #UNRESOLVED_TEXT} when the source address is
     * unresolved. An IPv4-mapped IPv6 client is written as the IPv4 client. Any thread; builds one short string.
     *
     * @param sourceAddress the source address bytes (4 or 16); null when unresolved
     */
    public String text(InspectRequest request, byte[] sourceAddress) {
        if (kind == Kind.LISTENER) {
            return request.listener();
        }
        if (sourceAddress == null) {
            return UNRESOLVED_TEXT;
        }
        StringBuilder out = new StringBuilder(44);
        if (sourceAddress.length == 4) {
            return ipv4Text(intAt(sourceAddress, 0), out);
        }
        long high = longAt(sourceAddress, 0);
        long low = longAt(sourceAddress, 8);
        if (high == 0 && (low >>> 32) == 0xFFFFL) {
            return ipv4Text((int) low, out);
        }
        long highMask = ipv6Prefix == 0 ? 0 : ipv6Prefix >= 64 ? -1L : -1L << (64 - ipv6Prefix);
        long lowMask = ipv6Prefix <= 64 ? 0 : ipv6Prefix == 128 ? -1L : -1L << (128 - ipv6Prefix);
        appendIpv6(high & highMask, low & lowMask, out);
        if (ipv6Prefix < 128) {
            out.append('/').append(ipv6Prefix);
        }
        return out.toString();
    }

    private String ipv4Text(int address, StringBuilder out) {
        int masked = ipv4Prefix == 0 ? 0 : address & (int) ((0xFFFF_FFFFL << (32 - ipv4Prefix)) & 0xFFFF_FFFFL);
        out.append(masked >>> 24).append('.').append((masked >>> 16) & 0xFF).append('.')
                .append((masked >>> 8) & 0xFF).append('.').append(masked & 0xFF);
        if (ipv4Prefix < 32) {
            out.append('/').append(ipv4Prefix);
        }
        return out.toString();
    }

    /** RFC 5952: lower-case hex groups without leading zeros, the longest run of two or more zero groups as "::". */
    private static void appendIpv6(long high, long low, StringBuilder out) {
        int bestStart = -1;
        int bestLength = 1;
        int runStart = -1;
        for (int i = 0; i < 8; i++) {
            if (group(high, low, i) == 0) {
                if (runStart < 0) {
                    runStart = i;
                }
                if (i - runStart + 1 > bestLength) {
                    bestStart = runStart;
                    bestLength = i - runStart + 1;
                }
            } else {
                runStart = -1;
            }
        }
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLength - 1;
                continue;
            }
            if (i > 0 && i != bestStart + bestLength) {
                out.append(':');
            }
            out.append(Integer.toHexString(group(high, low, i)));
        }
    }

    private static int group(long high, long low, int index) {
        long half = index < 4 ? high : low;
        return (int) (half >>> (48 - 16 * (index & 3))) & 0xFFFF;
    }

    private AddressKey ipv4Key(int address) {
        long mask = ipv4Prefix == 0 ? 0 : (0xFFFF_FFFFL << (32 - ipv4Prefix)) & 0xFFFF_FFFFL;
        return new AddressKey(0, 0xFFFF_0000_0000L | (address & mask));
    }

    /** An address (IPv4 as IPv4-mapped IPv6) masked to the key's prefix. */
    private record AddressKey(long high, long low) {
    }

    private static int intAt(byte[] bytes, int at) {
        return (bytes[at] & 0xFF) << 24 | (bytes[at + 1] & 0xFF) << 16 | (bytes[at + 2] & 0xFF) << 8
                | (bytes[at + 3] & 0xFF);
    }

    private static long longAt(byte[] bytes, int at) {
        return (intAt(bytes, at) & 0xFFFF_FFFFL) << 32 | (intAt(bytes, at + 4) & 0xFFFF_FFFFL);
    }

    /** The {@code rules.yaml} form. */
    @Override
    public String toString() {
        return switch (kind) {
            case SOURCE_IP -> "source-ip";
            case LISTENER -> "listener";
            case SOURCE_CIDR -> ipv6Prefix == DEFAULT_IPV6_PREFIX && ipv4Prefix < 32 ? "source-cidr/" + ipv4Prefix
                    : ipv4Prefix == 32 && ipv6Prefix > 32 ? "source-cidr/" + ipv6Prefix
                    : "source-cidr/" + ipv4Prefix + "/" + ipv6Prefix;
        };
    }
}
