package io.portcullis.bench;

import io.portcullis.policy.net.Cidr;

import java.util.SplittableRandom;

/**
 * Random CIDRs shaped like real block lists, from a fixed seed so every run measures the same sets:
 * IPv4 mostly single addresses (/32), some /24s and a spread of /20-/31; IPv6 in 2000::/3 (global
 * unicast), half single addresses, the rest /64, /56, /48 and a few /32.
 */
final class RandomAddresses {

    private final SplittableRandom random;

    RandomAddresses(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** A random IPv4 network; its address has no host bits set. */
    Cidr ipv4() {
        int roll = random.nextInt(100);
        int prefix = roll < 70 ? 32 : roll < 85 ? 24 : 20 + random.nextInt(12);
        return Cidr.ipv4(random.nextInt() & ipv4Mask(prefix), prefix);
    }

    /** A random IPv6 network in 2000::/3; its address has no host bits set. */
    Cidr ipv6() {
        int roll = random.nextInt(100);
        int prefix = roll < 50 ? 128 : roll < 75 ? 64 : roll < 85 ? 56 : roll < 95 ? 48 : 32;
        long high = (random.nextLong() >>> 3) | 0x2000_0000_0000_0000L;
        long low = random.nextLong();
        return Cidr.ipv6(high & highMask(prefix), low & lowMask(prefix), prefix);
    }

    /** A random address inside {@code network}, in network byte order (4 or 16 bytes). */
    byte[] inside(Cidr network) {
        if (!network.isIpv6()) {
            int host = random.nextInt() & ~ipv4Mask(network.prefix());
            return ipv4Bytes((int) network.low() | host);
        }
        long high = network.high() | (random.nextLong() & ~highMask(network.prefix()));
        long low = network.low() | (random.nextLong() & ~lowMask(network.prefix()));
        return ipv6Bytes(high, low);
    }

    /** A random IPv4 address (any), 4 bytes. */
    byte[] anyIpv4() {
        return ipv4Bytes(random.nextInt());
    }

    /** A random IPv6 address in 2000::/3, 16 bytes. */
    byte[] anyIpv6() {
        return ipv6Bytes((random.nextLong() >>> 3) | 0x2000_0000_0000_0000L, random.nextLong());
    }

    static int ipv4Mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    static long highMask(int prefix) {
        return prefix == 0 ? 0 : prefix >= 64 ? -1L : -1L << (64 - prefix);
    }

    static long lowMask(int prefix) {
        return prefix <= 64 ? 0 : prefix == 128 ? -1L : -1L << (128 - prefix);
    }

    static byte[] ipv4Bytes(int address) {
        return new byte[] {(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address};
    }

    static byte[] ipv6Bytes(long high, long low) {
        byte[] bytes = new byte[16];
        for (int i = 0; i < 8; i++) {
            bytes[i] = (byte) (high >>> (56 - 8 * i));
            bytes[8 + i] = (byte) (low >>> (56 - 8 * i));
        }
        return bytes;
    }
}
