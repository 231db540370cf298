package io.portcullis.bench;

import io.portcullis.policy.net.Cidr;
import io.portcullis.policy.net.CidrSet;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;

/**
 * One {@link CidrSet#contains(byte[])} — what a {@code source} condition or a list costs per connection —
 * for sets of {@code size} random CIDRs (see {@link RandomAddresses}), IPv4 or IPv6, for an address in
 * the set ({@link #hit}) and one that is not ({@link #miss}). Each call takes the next of 4096
 * pre-built probe addresses, so the branch predictor and caches see a realistic spread, not one address.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CidrSetLookupBenchmark {

    private static final int PROBES = 4096;

    public enum Family { IPV4, IPV6 }

    @Param({"10", "1000", "100000", "1000000"})
    public int size;

    @Param({"IPV4", "IPV6"})
    public Family family;

    private CidrSet set;
    private final byte[][] hits = new byte[PROBES][];
    private final byte[][] misses = new byte[PROBES][];
    private int next;

    @Setup(Level.Trial)
    public void build() {
        RandomAddresses random = new RandomAddresses(20_251_125L + size + family.ordinal());
        Cidr[] cidrs = new Cidr[size];
        CidrSet.Builder builder = CidrSet.builder();
        for (int i = 0; i < size; i++) {
            cidrs[i] = family == Family.IPV4 ? random.ipv4() : random.ipv6();
            builder.add(cidrs[i]);
        }
        set = builder.build();
        for (int i = 0; i < PROBES; i++) {
            hits[i] = random.inside(cidrs[i % size]);
            byte[] miss;
            do {
                miss = family == Family.IPV4 ? random.anyIpv4() : random.anyIpv6();
            } while (set.contains(miss));
            misses[i] = miss;
            if (!set.contains(hits[i])) {
                throw new IllegalStateException("a hit probe is not in the set");
            }
        }
    }

    @Benchmark
    public boolean hit() {
        return set.contains(hits[next++ & (PROBES - 1)]);
    }

    @Benchmark
    public boolean miss() {
        return set.contains(misses[next++ & (PROBES - 1)]);
    }
}
