package io.portcullis.policy.net;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CidrSetTest {

    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal); // literals only in this test: no lookup happens
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void ipv4MembershipAtRangeEdges() throws CidrFormatException {
        CidrSet set = CidrSet.of("192.0.2.0/24", "198.51.100.7", "10.0.0.0/8");

        assertThat(set.contains(ip("192.0.2.0"))).isTrue();
        assertThat(set.contains(ip("192.0.2.255"))).isTrue();
        assertThat(set.contains(ip("192.0.1.255"))).isFalse();
        assertThat(set.contains(ip("192.0.3.0"))).isFalse();
        assertThat(set.contains(ip("198.51.100.7"))).isTrue();
        assertThat(set.contains(ip("198.51.100.6"))).isFalse();
        assertThat(set.contains(ip("198.51.100.8"))).isFalse();
        assertThat(set.contains(ip("10.255.255.255"))).isTrue();
        assertThat(set.contains(ip("11.0.0.0"))).isFalse();
        assertThat(set.contains(ip("9.255.255.255"))).isFalse();
        assertThat(set.contains(ip("2001:db8::1"))).isFalse();
    }

    @Test
    void addressesAboveTheSignBitCompareUnsigned() throws CidrFormatException {
        CidrSet set = CidrSet.of("200.0.0.0/8", "255.255.255.255", "0.0.0.0");

        assertThat(set.contains(ip("200.1.2.3"))).isTrue();
        assertThat(set.contains(ip("255.255.255.255"))).isTrue();
        assertThat(set.contains(ip("255.255.255.254"))).isFalse();
        assertThat(set.contains(ip("0.0.0.0"))).isTrue();
        assertThat(set.contains(ip("0.0.0.1"))).isFalse();
        assertThat(set.contains(ip("127.255.255.255"))).isFalse();
        assertThat(set.contains(ip("128.0.0.0"))).isFalse();
    }

    @Test
    void zeroPrefixesCoverTheirWholeFamily() throws CidrFormatException {
        CidrSet v4 = CidrSet.of("0.0.0.0/0");
        assertThat(v4.contains(ip("0.0.0.0"))).isTrue();
        assertThat(v4.contains(ip("255.255.255.255"))).isTrue();
        assertThat(v4.contains(ip("::1"))).isFalse();
        assertThat(v4.containsEveryIpv4()).isTrue();
        assertThat(v4.containsEveryIpv6()).isFalse();

        CidrSet v6 = CidrSet.of("::/0");
        assertThat(v6.contains(ip("::"))).isTrue();
        assertThat(v6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))).isTrue();
        assertThat(v6.contains(ip("8000::"))).isTrue();
        assertThat(v6.contains(ip("10.0.0.1"))).isFalse();
        assertThat(v6.containsEveryIpv6()).isTrue();
    }

    @Test
    void fullLengthPrefixesMatchOneAddress() throws CidrFormatException {
        CidrSet set = CidrSet.of("192.0.2.1/32", "2001:db8::1/128");

        assertThat(set.contains(ip("192.0.2.1"))).isTrue();
        assertThat(set.contains(ip("192.0.2.0"))).isFalse();
        assertThat(set.contains(ip("192.0.2.2"))).isFalse();
        assertThat(set.contains(ip("2001:db8::1"))).isTrue();
        assertThat(set.contains(ip("2001:db8::"))).isFalse();
        assertThat(set.contains(ip("2001:db8::2"))).isFalse();
    }

    @Test
    void ipv6RangesCompareBothHalvesUnsigned() throws CidrFormatException {
        CidrSet set = CidrSet.of("2001:db8::/32", "ff00::/8", "::ffff:0:0:0/96", "2001:db8:1:2:8000::/65");

        assertThat(set.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"))).isTrue();
        assertThat(set.contains(ip("2001:db9::"))).isFalse();
        assertThat(set.contains(ip("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"))).isFalse();
        assertThat(set.contains(ip("ff02::1"))).isTrue();
        assertThat(set.contains(ip("fe80::1"))).isFalse();
        assertThat(set.ipv6RangeCount()).isEqualTo(3); // the /65 lies inside 2001:db8::/32
    }

    @Test
    void adjacentAndOverlappingRangesAreMerged() throws CidrFormatException {
        CidrSet adjacent = CidrSet.of("10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24");
        assertThat(adjacent.ipv4RangeCount()).isEqualTo(1);
        assertThat(adjacent.contains(ip("10.0.0.127"))).isTrue();
        assertThat(adjacent.contains(ip("10.0.0.128"))).isTrue();
        assertThat(adjacent.contains(ip("10.0.1.255"))).isTrue();
        assertThat(adjacent.contains(ip("10.0.2.0"))).isFalse();

        CidrSet overlapping = CidrSet.of("10.0.0.0/8", "10.1.0.0/16", "10.255.255.255", "9.255.255.255", "11.0.0.0/30");
        assertThat(overlapping.ipv4RangeCount()).isEqualTo(1);
        assertThat(overlapping.contains(ip("9.255.255.255"))).isTrue();
        assertThat(overlapping.contains(ip("11.0.0.3"))).isTrue();
        assertThat(overlapping.contains(ip("11.0.0.4"))).isFalse();
        assertThat(overlapping.contains(ip("9.255.255.254"))).isFalse();

        CidrSet gap = CidrSet.of("10.0.0.0/32", "10.0.0.2/32");
        assertThat(gap.ipv4RangeCount()).isEqualTo(2);
        assertThat(gap.contains(ip("10.0.0.1"))).isFalse();

        CidrSet v6 = CidrSet.of("2001:db8::/33", "2001:db8:8000::/33", "2001:db8::5", "::/1", "8000::/1");
        assertThat(v6.ipv6RangeCount()).isEqualTo(1);
        assertThat(v6.containsEveryIpv6()).isTrue();

        CidrSet carry = CidrSet.of("::ffff:ffff:ffff:ffff/128", "0:0:0:1::/128");
        assertThat(carry.ipv6RangeCount()).as("adjacent across the low/high boundary").isEqualTo(1);

        CidrSet top = CidrSet.of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff::/16", "255.255.255.255", "255.0.0.0/8");
        assertThat(top.ipv6RangeCount()).isEqualTo(1);
        assertThat(top.ipv4RangeCount()).isEqualTo(1);
    }

    @Test
    void ipv4MappedAddressesMatchIpv4Entries() throws CidrFormatException {
        CidrSet set = CidrSet.of("192.0.2.0/24");
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 9};
        byte[] mappedOutside = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 3, 9};
        byte[] compatible = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 192, 0, 2, 9};

        assertThat(set.contains(mapped)).isTrue();
        assertThat(set.contains(mappedOutside)).isFalse();
        assertThat(set.contains(compatible)).as("::192.0.2.9 is not mapped").isFalse();
    }

    @Test
    void mappedEntriesAreStoredAsIpv4() throws CidrFormatException {
        CidrSet set = CidrSet.of("::ffff:10.0.0.0/104", "::ffff:192.0.2.1");

        assertThat(set.ipv4RangeCount()).isEqualTo(2);
        assertThat(set.ipv6RangeCount()).isZero();
        assertThat(set.contains(ip("10.20.30.40"))).isTrue();
        assertThat(set.contains(ip("192.0.2.1"))).isTrue();
        assertThat(set.contains(ip("192.0.2.2"))).isFalse();
    }

    @Test
    void emptySetContainsNothing() {
        CidrSet set = CidrSet.empty();

        assertThat(set.isEmpty()).isTrue();
        assertThat(set.contains(ip("10.0.0.1"))).isFalse();
        assertThat(set.contains(ip("::1"))).isFalse();
        assertThat(CidrSet.builder().build()).isSameAs(CidrSet.empty());
    }

    @Test
    void refusesAddressesOfOtherLengths() {
        assertThatThrownBy(() -> CidrSet.empty().contains(new byte[5])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void addAllUnitesSets() throws CidrFormatException {
        CidrSet a = CidrSet.of("10.0.0.0/8", "2001:db8::/32");
        CidrSet b = CidrSet.of("192.0.2.0/24");
        CidrSet union = CidrSet.builder().addAll(a).addAll(b).add("::1").build();

        assertThat(union.contains(ip("10.1.1.1"))).isTrue();
        assertThat(union.contains(ip("192.0.2.1"))).isTrue();
        assertThat(union.contains(ip("2001:db8::7"))).isTrue();
        assertThat(union.contains(ip("::1"))).isTrue();
        assertThat(union.contains(ip("172.16.0.1"))).isFalse();
    }

    /** Random ranges against a plain scan of the same ranges. */
    @Test
    void agreesWithALinearScan() {
        Random random = new Random(42);
        for (int round = 0; round < 50; round++) {
            int count = 1 + random.nextInt(200);
            long[][] ranges = new long[count][];
            CidrSet.Builder builder = CidrSet.builder();
            for (int i = 0; i < count; i++) {
                int prefix = 16 + random.nextInt(17);
                long address = (random.nextInt() & 0xFFFF_FFFFL) & Cidr.ipv4Mask(prefix) & 0xFF0F_FFFFL;
                long last = address | (~Cidr.ipv4Mask(prefix) & 0xFFFF_FFFFL);
                ranges[i] = new long[] {address, last};
                builder.add(Cidr.ipv4((int) address, prefix));
            }
            CidrSet set = builder.build();
            for (int probe = 0; probe < 2_000; probe++) {
                long address = probe % 2 == 0
                        ? ranges[random.nextInt(count)][probe % 4 == 0 ? 0 : 1] + random.nextInt(3) - 1
                        : random.nextInt() & 0xFFFF_FFFFL;
                address &= 0xFFFF_FFFFL;
                boolean expected = false;
                for (long[] range : ranges) {
                    expected |= address >= range[0] && address <= range[1];
                }
                assertThat(set.containsIpv4((int) address)).as("%s in round %s", Cidr.formatIpv4(address), round)
                        .isEqualTo(expected);
            }
        }
    }

    @Test
    void ipv6AgreesWithALinearScan() {
        Random random = new Random(7);
        for (int round = 0; round < 50; round++) {
            int count = 1 + random.nextInt(100);
            long[][] ranges = new long[count][];
            CidrSet.Builder builder = CidrSet.builder();
            for (int i = 0; i < count; i++) {
                int prefix = 48 + random.nextInt(81);
                long high = (0x2001_0db8_0000_0000L | (random.nextLong() & 0x3_0000L)) & Cidr.highMask(prefix);
                long low = (random.nextBoolean() ? random.nextLong() : random.nextLong() & 0xFF) & Cidr.lowMask(prefix);
                builder.add(Cidr.ipv6(high, low, prefix));
                ranges[i] = new long[] {high, low, high | ~Cidr.highMask(prefix), low | ~Cidr.lowMask(prefix)};
            }
            CidrSet set = builder.build();
            for (int probe = 0; probe < 2_000; probe++) {
                long[] range = ranges[random.nextInt(count)];
                long high = probe % 3 == 0 ? range[0] : probe % 3 == 1 ? range[2] : range[0] ^ (1L << random.nextInt(18));
                long low = probe % 3 == 0 ? range[1] - random.nextInt(2) : range[3] + random.nextInt(2);
                boolean expected = false;
                for (long[] r : ranges) {
                    boolean afterFirst = Long.compareUnsigned(high, r[0]) > 0
                            || (high == r[0] && Long.compareUnsigned(low, r[1]) >= 0);
                    boolean beforeLast = Long.compareUnsigned(high, r[2]) < 0
                            || (high == r[2] && Long.compareUnsigned(low, r[3]) <= 0);
                    expected |= afterFirst && beforeLast;
                }
                assertThat(set.containsIpv6(high, low)).isEqualTo(expected);
            }
        }
    }

    @Test
    void buildsFromAMillionSingleAddresses() {
        Random random = new Random(1);
        int count = 1_000_000;
        int[] addresses = new int[count];
        CidrSet.Builder builder = CidrSet.builder();
        for (int i = 0; i < count; i++) {
            addresses[i] = random.nextInt();
            builder.add(Cidr.ipv4(addresses[i], 32));
        }
        CidrSet set = builder.build();

        assertThat(set.ipv4RangeCount()).isBetween(900_000, count);
        for (int i = 0; i < count; i += 997) {
            int address = addresses[i];
            assertThat(set.containsIpv4(address)).isTrue();
            byte[] bytes = {(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address};
            assertThat(set.contains(bytes)).isTrue();
        }
        java.util.Set<Integer> members = new java.util.HashSet<>();
        for (int address : addresses) {
            members.add(address);
        }
        int absent = 0;
        for (int i = 0; i < 10_000; i++) {
            int address = random.nextInt();
            assertThat(set.containsIpv4(address)).isEqualTo(members.contains(address));
            absent += members.contains(address) ? 0 : 1;
        }
        assertThat(absent).isPositive();
    }

    @Test
    void buildsFromAMillionIpv6Addresses() {
        Random random = new Random(2);
        int count = 1_000_000;
        long[] lows = new long[count];
        CidrSet.Builder builder = CidrSet.builder();
        for (int i = 0; i < count; i++) {
            lows[i] = random.nextLong();
            builder.add(Cidr.ipv6(0x2001_0db8_0000_0000L, lows[i], 128));
        }
        CidrSet set = builder.build();

        for (int i = 0; i < count; i += 997) {
            assertThat(set.containsIpv6(0x2001_0db8_0000_0000L, lows[i])).isTrue();
            assertThat(set.containsIpv6(0x2001_0db8_0000_0001L, lows[i])).isFalse();
        }
    }
}
