package io.portcullis.policy.net;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable set of IPv4 and IPv6 addresses, built from CIDRs and single addresses.
 *
 * <p>Why our own structure: address lists reach a million entries (block lists), and a lookup runs
 * on the event loop for every connection. The set is stored as merged, sorted, non-adjacent ranges —
 * IPv4 as two {@code int[]} (first, last; unsigned), IPv6 as one {@code long[]} of (first high, first
 * low, last high, last low) compared unsigned — so a million /32s take 8 MB, build in a sort and one
 * merge pass, and a lookup is one binary search with no allocation. The Java CIDR libraries we looked
 * at either keep a tree of objects per prefix (tens of bytes per entry, pointer chasing) or come with
 * a large dependency (Guava, Netty); none gives compact sorted ranges with sub-microsecond lookups.
 *
 * <p>An IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}) is looked up as the IPv4 address, and a
 * mapped CIDR entry with a prefix of 96 or more is stored as the IPv4 network it maps. An IPv6 entry
 * that is wider than /96 and covers the mapped range does not match IPv4 clients.
 *
 * <p>Immutable; lookups from any thread.
 */
public final class CidrSet {

    private static final int[] NO_INTS = new int[0];
    private static final long[] NO_LONGS = new long[0];
    private static final CidrSet EMPTY = new CidrSet(NO_INTS, NO_INTS, NO_LONGS);

    /** First and last address of each IPv4 range, unsigned, sorted by first, merged. */
    private final int[] v4First;
    private final int[] v4Last;
    /** Per IPv6 range four longs: first high, first low, last high, last low; sorted, merged. */
    private final long[] v6;

    private CidrSet(int[] v4First, int[] v4Last, long[] v6) {
        this.v4First = v4First;
        this.v4Last = v4Last;
        this.v6 = v6;
    }

    /** The set with no address. */
    public static CidrSet empty() {
        return EMPTY;
    }

    /** A set of the given CIDRs or addresses; a convenience for small sets and tests. */
    public static CidrSet of(String... entries) throws CidrFormatException {
        Builder builder = builder();
        for (String entry : entries) {
            builder.add(entry);
        }
        return builder.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Whether the address is in the set. Any thread; allocates only what {@code getAddress()} does. */
    public boolean contains(InetAddress address) {
        return contains(address.getAddress());
    }

    /**
     * Whether the address, in network byte order (4 bytes for IPv4, 16 for IPv6), is in the set.
     * Any thread; allocates nothing.
     *
     * @throws IllegalArgumentException if the array is neither 4 nor 16 bytes long
     */
    public boolean contains(byte[] address) {
        if (address.length == 4) {
            return containsIpv4(intAt(address, 0));
        }
        if (address.length != 16) {
            throw new IllegalArgumentException("an address has 4 or 16 bytes, not " + address.length);
        }
        long high = longAt(address, 0);
        long low = longAt(address, 8);
        if (high == 0 && (low >>> 32) == 0xFFFFL) {
            return containsIpv4((int) low);
        }
        return containsIpv6(high, low);
    }

    /** Whether the IPv4 address (32 bits, unsigned) is in the set. Allocates nothing. */
    public boolean containsIpv4(int address) {
        int lo = 0;
        int hi = v4First.length - 1;
        int candidate = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Integer.compareUnsigned(v4First[mid], address) <= 0) {
                candidate = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return candidate >= 0 && Integer.compareUnsigned(address, v4Last[candidate]) <= 0;
    }

    /** Whether the IPv6 address given as high and low 64 bits is in the set. Allocates nothing. */
    public boolean containsIpv6(long high, long low) {
        int lo = 0;
        int hi = v6.length / 4 - 1;
        int candidate = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int at = mid << 2;
            if (compare(v6[at], v6[at + 1], high, low) <= 0) {
                candidate = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (candidate < 0) {
            return false;
        }
        int at = candidate << 2;
        return compare(high, low, v6[at + 2], v6[at + 3]) <= 0;
    }

    public boolean isEmpty() {
        return v4First.length == 0 && v6.length == 0;
    }

    /** Whether every IPv4 address is in the set (it holds 0.0.0.0/0). */
    public boolean containsEveryIpv4() {
        return v4First.length == 1 && v4First[0] == 0 && v4Last[0] == -1;
    }

    /** Whether every IPv6 address is in the set (it holds ::/0). */
    public boolean containsEveryIpv6() {
        return v6.length == 4 && v6[0] == 0 && v6[1] == 0 && v6[2] == -1 && v6[3] == -1;
    }

    /** Number of merged IPv4 ranges (not of entries added). */
    public int ipv4RangeCount() {
        return v4First.length;
    }

    /** First address (unsigned) of the IPv4 range at {@code index}, in address order. */
    public int ipv4First(int index) {
        return v4First[index];
    }

    /** Last address (unsigned) of the IPv4 range at {@code index}, in address order. */
    public int ipv4Last(int index) {
        return v4Last[index];
    }

    /** The IPv4 addresses not in this set (no IPv6 address). */
    public CidrSet ipv4Complement() {
        Builder b = builder();
        long next = 0;
        for (int i = 0; i < v4First.length; i++) {
            long first = v4First[i] & 0xFFFF_FFFFL;
            if (first > next) {
                b.addIpv4Range((int) next, (int) (first - 1));
            }
            next = (v4Last[i] & 0xFFFF_FFFFL) + 1;
        }
        if (next <= 0xFFFF_FFFFL) {
            b.addIpv4Range((int) next, -1);
        }
        return b.build();
    }

    /** Number of merged IPv6 ranges (not of entries added). */
    public int ipv6RangeCount() {
        return v6.length / 4;
    }

    @Override
    public String toString() {
        return "CidrSet[ipv4Ranges=" + ipv4RangeCount() + ", ipv6Ranges=" + ipv6RangeCount() + "]";
    }

    private static int compare(long aHigh, long aLow, long bHigh, long bLow) {
        int c = Long.compareUnsigned(aHigh, bHigh);
        return c != 0 ? c : Long.compareUnsigned(aLow, bLow);
    }

    private static int intAt(byte[] bytes, int at) {
        return (bytes[at] & 0xFF) << 24 | (bytes[at + 1] & 0xFF) << 16 | (bytes[at + 2] & 0xFF) << 8
                | (bytes[at + 3] & 0xFF);
    }

    private static long longAt(byte[] bytes, int at) {
        return (intAt(bytes, at) & 0xFFFF_FFFFL) << 32 | (intAt(bytes, at + 4) & 0xFFFF_FFFFL);
    }

    /**
     * Collects ranges, then sorts and merges them once in {@link #build()}. Overlapping and adjacent
     * ranges are merged. Not thread-safe; one builder per thread.
     */
    public static final class Builder {

        /** IPv4 ranges packed for sorting: (first ^ sign bit) in the high half, last (unsigned) in the low. */
        private long[] v4 = new long[16];
        private int v4Count;
        /** IPv6 ranges, four longs each as in {@link CidrSet#v6}. */
        private long[] v6 = new long[16];
        private int v6Count;

        private Builder() {
        }

        /** Adds a CIDR or a single address; see {@link Cidr#parse(String)}. */
        public Builder add(String entry) throws CidrFormatException {
            return add(Cidr.parse(entry));
        }

        public Builder add(Cidr cidr) {
            Objects.requireNonNull(cidr, "cidr");
            if (!cidr.isIpv6()) {
                int first = (int) cidr.low();
                int last = (int) (cidr.low() | ~Cidr.ipv4Mask(cidr.prefix()));
                return addIpv4Range(first, last);
            }
            if (cidr.high() == 0 && (cidr.low() >>> 32) == 0xFFFFL && cidr.prefix() >= 96) {
                int prefix = cidr.prefix() - 96;
                int first = (int) cidr.low();
                int last = (int) (cidr.low() | ~Cidr.ipv4Mask(prefix));
                return addIpv4Range(first, last);
            }
            long firstHigh = cidr.high();
            long firstLow = cidr.low();
            return addIpv6Range(firstHigh, firstLow,
                    firstHigh | ~Cidr.highMask(cidr.prefix()), firstLow | ~Cidr.lowMask(cidr.prefix()));
        }

        /** Adds every address of another set. */
        public Builder addAll(CidrSet set) {
            for (int i = 0; i < set.v4First.length; i++) {
                addIpv4Range(set.v4First[i], set.v4Last[i]);
            }
            for (int at = 0; at < set.v6.length; at += 4) {
                addIpv6Range(set.v6[at], set.v6[at + 1], set.v6[at + 2], set.v6[at + 3]);
            }
            return this;
        }

        /** Adds the IPv4 addresses first..last (unsigned, inclusive). */
        public Builder addIpv4Range(int first, int last) {
            if (Integer.compareUnsigned(first, last) > 0) {
                throw new IllegalArgumentException("first address after last");
            }
            if (v4Count == v4.length) {
                v4 = Arrays.copyOf(v4, grow(v4.length));
            }
            v4[v4Count++] = ((long) (first ^ Integer.MIN_VALUE) << 32) | (last & 0xFFFF_FFFFL);
            return this;
        }

        /** Adds the IPv6 addresses first..last (128-bit unsigned, inclusive). */
        public Builder addIpv6Range(long firstHigh, long firstLow, long lastHigh, long lastLow) {
            if (compare(firstHigh, firstLow, lastHigh, lastLow) > 0) {
                throw new IllegalArgumentException("first address after last");
            }
            if (v6Count * 4 == v6.length) {
                v6 = Arrays.copyOf(v6, grow(v6.length));
            }
            int at = v6Count++ * 4;
            v6[at] = firstHigh;
            v6[at + 1] = firstLow;
            v6[at + 2] = lastHigh;
            v6[at + 3] = lastLow;
            return this;
        }

        private static int grow(int length) {
            if (length >= Integer.MAX_VALUE / 2 - 16) {
                throw new IllegalStateException("address set too large");
            }
            return length * 2;
        }

        /** Sorts and merges what was added into a new immutable set; the builder stays usable. */
        public CidrSet build() {
            if (v4Count == 0 && v6Count == 0) {
                return EMPTY;
            }
            int[] first = NO_INTS;
            int[] last = NO_INTS;
            if (v4Count > 0) {
                Arrays.sort(v4, 0, v4Count);
                first = new int[v4Count];
                last = new int[v4Count];
                int n = 0;
                for (int i = 0; i < v4Count; i++) {
                    long start = ((v4[i] >>> 32) ^ 0x8000_0000L) & 0xFFFF_FFFFL;
                    long end = v4[i] & 0xFFFF_FFFFL;
                    long previousEnd = n == 0 ? -2 : last[n - 1] & 0xFFFF_FFFFL;
                    if (n > 0 && start <= previousEnd + 1) {
                        if (end > previousEnd) {
                            last[n - 1] = (int) end;
                        }
                    } else {
                        first[n] = (int) start;
                        last[n] = (int) end;
                        n++;
                    }
                }
                first = Arrays.copyOf(first, n);
                last = Arrays.copyOf(last, n);
            }
            return new CidrSet(first, last, buildIpv6());
        }

        private long[] buildIpv6() {
            if (v6Count == 0) {
                return NO_LONGS;
            }
            sortByFirst(v6, v6Count);
            long[] merged = new long[v6Count * 4];
            int n = 0;
            for (int i = 0; i < v6Count; i++) {
                int at = i * 4;
                int top = (n - 1) * 4;
                if (n > 0 && adjacentOrOverlapping(merged[top + 2], merged[top + 3], v6[at], v6[at + 1])) {
                    if (compare(v6[at + 2], v6[at + 3], merged[top + 2], merged[top + 3]) > 0) {
                        merged[top + 2] = v6[at + 2];
                        merged[top + 3] = v6[at + 3];
                    }
                } else {
                    System.arraycopy(v6, at, merged, n * 4, 4);
                    n++;
                }
            }
            return Arrays.copyOf(merged, n * 4);
        }

        /** Whether a range starting at first touches one ending at last, i.e. first <= last + 1. */
        private static boolean adjacentOrOverlapping(long lastHigh, long lastLow, long firstHigh, long firstLow) {
            if (compare(firstHigh, firstLow, lastHigh, lastLow) <= 0) {
                return true;
            }
            long nextLow = lastLow + 1;
            long nextHigh = nextLow == 0 ? lastHigh + 1 : lastHigh;
            if (nextLow == 0 && nextHigh == 0) {
                return true; // last is the highest address: everything after it touches
            }
            return firstHigh == nextHigh && firstLow == nextLow;
        }

        /** Stable bottom-up merge sort of {@code count} four-long records by their first address. */
        private static void sortByFirst(long[] records, int count) {
            boolean sorted = true;
            for (int i = 1; i < count && sorted; i++) {
                sorted = compare(records[(i - 1) * 4], records[(i - 1) * 4 + 1], records[i * 4], records[i * 4 + 1]) <= 0;
            }
            if (sorted) {
                return;
            }
            long[] source = records;
            long[] target = new long[count * 4];
            for (int width = 1; width < count; width *= 2) {
                for (int lo = 0; lo < count; lo += 2 * width) {
                    int mid = Math.min(lo + width, count);
                    int hi = Math.min(lo + 2 * width, count);
                    merge(source, target, lo, mid, hi);
                }
                long[] swap = source;
                source = target;
                target = swap;
            }
            if (source != records) {
                System.arraycopy(source, 0, records, 0, count * 4);
            }
        }

        private static void merge(long[] source, long[] target, int lo, int mid, int hi) {
            int left = lo;
            int right = mid;
            for (int out = lo; out < hi; out++) {
                boolean takeLeft = right >= hi || (left < mid
                        && compare(source[left * 4], source[left * 4 + 1], source[right * 4], source[right * 4 + 1]) <= 0);
                int from = takeLeft ? left++ : right++;
                System.arraycopy(source, from * 4, target, out * 4, 4);
            }
        }
    }
}
