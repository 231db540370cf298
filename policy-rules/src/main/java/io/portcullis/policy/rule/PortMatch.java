package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;

import java.util.BitSet;

/**
 * The {@code port} condition: the destination port the client connected to is one of the listed
 * ports or in one of the listed ranges ({@code port: [5432, "8000-8100"]}).
 *
 * <p>Stored as a 65,536-bit map (8 KiB), so a lookup is one array read whatever the entries.
 */
public final class PortMatch implements Match {

    public static final String KEY = "port";

    private static final int PORTS = 65536;

    private final long[] bits;
    private final boolean everything;

    /** @param ports the destination ports that match (bits 1-65535) */
    public PortMatch(BitSet ports) {
        this.bits = new long[PORTS / 64];
        long[] given = ports.toLongArray();
        System.arraycopy(given, 0, bits, 0, Math.min(given.length, bits.length));
        this.everything = ports.nextClearBit(1) >= PORTS;
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        int port = request.destination().getPort();
        return (bits[port >>> 6] & (1L << port)) != 0;
    }

    /** All ports 1-65535 (port 0 is never a destination). */
    @Override
    public boolean matchesEverything() {
        return everything;
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public String toString() {
        return "port[" + BitSet.valueOf(bits).cardinality() + " ports]";
    }
}
