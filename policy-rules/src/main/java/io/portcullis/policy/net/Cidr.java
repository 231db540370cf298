package io.portcullis.policy.net;

import java.util.Locale;

/**
 * One IPv4 or IPv6 network: an address and a prefix length, with no host bits set.
 *
 * <p>{@link #parse(String)} reads literals only ({@code 192.0.2.0/24}, {@code 2001:db8::/32}, a single
 * address as /32 or /128); it never resolves a host name. IPv4 octets with leading zeros are refused,
 * because other tools read them as octal. An IPv6 address is stored as two longs (high and low 64
 * bits), an IPv4 address in the low 32 bits of {@link #low()}.
 *
 * <p>Immutable; any thread.
 */
public final class Cidr {

    private final boolean ipv6;
    private final long high;
    private final long low;
    private final int prefix;

    private Cidr(boolean ipv6, long high, long low, int prefix) {
        this.ipv6 = ipv6;
        this.high = high;
        this.low = low;
        this.prefix = prefix;
    }

    /** An IPv4 network; {@code address} is the 32-bit address (unsigned). Host bits must be clear. */
    public static Cidr ipv4(int address, int prefix) {
        if (prefix < 0 || prefix > 32) {
            throw new IllegalArgumentException("IPv4 prefix out of range: " + prefix);
        }
        long value = address & 0xFFFF_FFFFL;
        if ((value & ~ipv4Mask(prefix)) != 0) {
            throw new IllegalArgumentException("host bits set: " + formatIpv4(value) + "/" + prefix);
        }
        return new Cidr(false, 0, value, prefix);
    }

    /** An IPv6 network from its high and low 64 bits. Host bits must be clear. */
    public static Cidr ipv6(long high, long low, int prefix) {
        if (prefix < 0 || prefix > 128) {
            throw new IllegalArgumentException("IPv6 prefix out of range: " + prefix);
        }
        if ((high & ~highMask(prefix)) != 0 || (low & ~lowMask(prefix)) != 0) {
            throw new IllegalArgumentException("host bits set: " + formatIpv6(high, low) + "/" + prefix);
        }
        return new Cidr(true, high, low, prefix);
    }

    /**
     * Parses {@code address} or {@code address/prefix}. Surrounding white space is ignored.
     *
     * @throws CidrFormatException with a message that says what is wrong (and, for host bits set,
     *                             which network was probably meant)
     */
    public static Cidr parse(String text) throws CidrFormatException {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            throw new CidrFormatException("empty address");
        }
        int slash = trimmed.indexOf('/');
        String address = slash < 0 ? trimmed : trimmed.substring(0, slash);
        if (address.indexOf('%') >= 0) {
            throw new CidrFormatException("zone ids are not allowed in addresses: '" + trimmed + "'");
        }
        boolean v6 = address.indexOf(':') >= 0;
        long high = 0;
        long low;
        if (v6) {
            long[] parsed = parseIpv6(address);
            if (parsed == null) {
                throw notAnAddress(trimmed);
            }
            high = parsed[0];
            low = parsed[1];
        } else {
            low = parseIpv4(address);
            if (low == LEADING_ZERO) {
                throw new CidrFormatException("leading zeros are not allowed in IPv4 address '" + trimmed
                        + "' (some tools read them as octal)");
            }
            if (low < 0) {
                throw notAnAddress(trimmed);
            }
        }
        int max = v6 ? 128 : 32;
        int prefix = max;
        if (slash >= 0) {
            prefix = parsePrefix(trimmed.substring(slash + 1));
            if (prefix < 0) {
                throw notAnAddress(trimmed);
            }
            if (prefix > max) {
                throw new CidrFormatException("prefix /" + prefix + " is out of range for " + (v6 ? "IPv6" : "IPv4")
                        + " (0-" + max + ") in '" + trimmed + "'");
            }
        }
        boolean hostBits = v6
                ? (high & ~highMask(prefix)) != 0 || (low & ~lowMask(prefix)) != 0
                : (low & ~ipv4Mask(prefix)) != 0;
        if (hostBits) {
            String meant = v6
                    ? new Cidr(true, high & highMask(prefix), low & lowMask(prefix), prefix).toString()
                    : new Cidr(false, 0, low & ipv4Mask(prefix), prefix).toString();
            throw new CidrFormatException("host bits set in '" + trimmed + "' (did you mean " + meant + "?)");
        }
        return new Cidr(v6, high, low, prefix);
    }

    private static CidrFormatException notAnAddress(String text) {
        return new CidrFormatException("'" + text + "' is not an IPv4/IPv6 address or CIDR");
    }

    /** True for an IPv6 network, false for IPv4. */
    public boolean isIpv6() {
        return ipv6;
    }

    /** High 64 bits of an IPv6 network address; 0 for IPv4. */
    public long high() {
        return high;
    }

    /** Low 64 bits of an IPv6 network address; for IPv4 the 32-bit address, unsigned. */
    public long low() {
        return low;
    }

    /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
    public int prefix() {
        return prefix;
    }

    /** Canonical text: {@code 10.0.0.0/8}, {@code 2001:db8::/32}, RFC 5952 for IPv6. */
    @Override
    public String toString() {
        return (ipv6 ? formatIpv6(high, low) : formatIpv4(low)) + "/" + prefix;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Cidr that && ipv6 == that.ipv6 && high == that.high && low == that.low
                && prefix == that.prefix;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(high) * 31 * 31 + Long.hashCode(low) * 31 + prefix + (ipv6 ? 1 << 16 : 0);
    }

    // ---- masks -------------------------------------------------------------------------------

    static long ipv4Mask(int prefix) {
        return prefix == 0 ? 0 : (0xFFFF_FFFFL << (32 - prefix)) & 0xFFFF_FFFFL;
    }

    static long highMask(int prefix) {
        if (prefix == 0) {
            return 0;
        }
        return prefix >= 64 ? -1L : -1L << (64 - prefix);
    }

    static long lowMask(int prefix) {
        if (prefix <= 64) {
            return 0;
        }
        return prefix == 128 ? -1L : -1L << (128 - prefix);
    }

    // ---- parsing -----------------------------------------------------------------------------

    private static final long INVALID = -1;
    private static final long LEADING_ZERO = -2;

    /** The address as an unsigned 32-bit value, {@link #INVALID} or {@link #LEADING_ZERO}. */
    static long parseIpv4(String text) {
        return parseIpv4(text, 0, text.length());
    }

    private static long parseIpv4(String text, int from, int to) {
        long value = 0;
        int octets = 0;
        int i = from;
        while (i < to) {
            int start = i;
            int octet = 0;
            while (i < to && i - start < 4) {
                char c = text.charAt(i);
                if (c < '0' || c > '9') {
                    break;
                }
                octet = octet * 10 + (c - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || digits > 3 || octet > 255) {
                return INVALID;
            }
            if (digits > 1 && text.charAt(start) == '0') {
                return LEADING_ZERO;
            }
            value = (value << 8) | octet;
            octets++;
            if (i == to) {
                break;
            }
            if (text.charAt(i) != '.' || octets == 4) {
                return INVALID;
            }
            i++;
            if (i == to) {
                return INVALID; // trailing dot
            }
        }
        return octets == 4 ? value : INVALID;
    }

    /** {high, low}, or null when {@code text} is not an IPv6 literal (no zone, no brackets). */
    static long[] parseIpv6(String text) {
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
            return null;
        }
        int[] groups = new int[8];
        int count;
        if (gap < 0) {
            count = parseGroups(text, 0, text.length(), true, groups, 0);
            if (count != 8) {
                return null;
            }
        } else {
            int head = gap == 0 ? 0 : parseGroups(text, 0, gap, false, groups, 0);
            if (head < 0) {
                return null;
            }
            int[] tail = new int[8];
            int tailCount = gap + 2 == text.length() ? 0 : parseGroups(text, gap + 2, text.length(), true, tail, 0);
            if (tailCount < 0 || head + tailCount > 7) {
                return null;
            }
            System.arraycopy(tail, 0, groups, 8 - tailCount, tailCount);
        }
        long high = 0;
        long low = 0;
        for (int g = 0; g < 4; g++) {
            high = (high << 16) | groups[g];
            low = (low << 16) | groups[g + 4];
        }
        return new long[] {high, low};
    }

    /**
     * Parses colon-separated hex groups in text[from, to) into dest; the last part may be a dotted
     * IPv4 address (two groups) when {@code allowIpv4Tail}. Returns the number of groups or -1.
     */
    private static int parseGroups(String text, int from, int to, boolean allowIpv4Tail, int[] dest, int offset) {
        int count = 0;
        int i = from;
        while (true) {
            int end = text.indexOf(':', i);
            if (end < 0 || end > to) {
                end = to;
            }
            if (end == i) {
                return -1; // empty group
            }
            boolean last = end == to;
            if (last && allowIpv4Tail && text.indexOf('.', i) >= 0 && text.indexOf('.', i) < to) {
                long v4 = parseIpv4(text, i, to);
                if (v4 < 0 || offset + count + 2 > 8) {
                    return -1;
                }
                dest[offset + count++] = (int) (v4 >>> 16);
                dest[offset + count++] = (int) (v4 & 0xFFFF);
                return count;
            }
            if (end - i > 4 || offset + count >= 8) {
                return -1;
            }
            int group = 0;
            for (int k = i; k < end; k++) {
                int digit = Character.digit(text.charAt(k), 16);
                if (digit < 0) {
                    return -1;
                }
                group = (group << 4) | digit;
            }
            dest[offset + count++] = group;
            if (last) {
                return count;
            }
            i = end + 1;
            if (i == to) {
                return -1; // trailing single colon
            }
        }
    }

    private static int parsePrefix(String text) {
        if (text.isEmpty() || text.length() > 3) {
            return -1;
        }
        int value = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    // ---- formatting --------------------------------------------------------------------------

    static String formatIpv4(long value) {
        return ((value >>> 24) & 0xFF) + "." + ((value >>> 16) & 0xFF) + "." + ((value >>> 8) & 0xFF) + "."
                + (value & 0xFF);
    }

    /** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as "::". */
    static String formatIpv6(long high, long low) {
        if (high == 0 && (low >>> 32) == 0xFFFFL) {
            return "::ffff:" + formatIpv4(low & 0xFFFF_FFFFL);
        }
        int[] groups = new int[8];
        for (int g = 0; g < 4; g++) {
            groups[g] = (int) ((high >>> (48 - 16 * g)) & 0xFFFF);
            groups[g + 4] = (int) ((low >>> (48 - 16 * g)) & 0xFFFF);
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int g = 0; g < 8; ) {
            if (groups[g] != 0) {
                g++;
                continue;
            }
            int start = g;
            while (g < 8 && groups[g] == 0) {
                g++;
            }
            if (g - start > bestLength) {
                bestStart = start;
                bestLength = g - start;
            }
        }
        StringBuilder text = new StringBuilder(39);
        for (int g = 0; g < 8; g++) {
            if (g == bestStart) {
                text.append("::");
                g += bestLength - 1;
                continue;
            }
            if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
                text.append(':');
            }
            text.append(Integer.toHexString(groups[g]).toLowerCase(Locale.ROOT));
        }
        return text.toString();
    }
}
