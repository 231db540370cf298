package io.portcullis.bench;

import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.net.Cidr;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code Policy.load} of a rules file whose one list is {@code {file: blocked.txt}} with {@code entries}
 * entries — what a start or a reload costs with a large block list: reading the file, parsing every line,
 * sorting and merging the set. Single shot: one load is one sample.
 *
 * <ul>
 *   <li>{@code IPV4}: IPv4 addresses and CIDRs only (the list reader's fast path);</li>
 *   <li>{@code MIXED}: 70 % IPv4, 25 % IPv6, plus comment lines and trailing comments (5 % of lines).</li>
 * </ul>
 * {@link #warmLoad} measures loads after a few in the same JVM (a reload); {@link #coldLoad} the first
 * load of a fresh JVM (the start of a gateway), one per fork.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ListFileLoadBenchmark {

    public enum Content { IPV4, MIXED }

    @Param({"1000000"})
    public int entries;

    @Param({"IPV4", "MIXED"})
    public Content content;

    private Path directory;
    private Path rulesFile;

    @Setup(Level.Trial)
    public void writeFiles() throws IOException {
        directory = Files.createTempDirectory("portcullis-bench-");
        Path listFile = directory.resolve("blocked.txt");
        RandomAddresses random = new RandomAddresses(1_000_003L + content.ordinal());
        try (BufferedWriter out = Files.newBufferedWriter(listFile, StandardCharsets.US_ASCII)) {
            out.write("# generated block list: " + entries + " entries, " + content + "\n");
            for (int i = 0; i < entries; i++) {
                boolean ipv6 = content == Content.MIXED && i % 4 == 1;
                Cidr cidr = ipv6 ? random.ipv6() : random.ipv4();
                out.write(text(cidr));
                if (content == Content.MIXED && i % 40 == 3) {
                    out.write("   # reported 2025-11-25");
                } else if (content == Content.MIXED && i % 40 == 17) {
                    out.write("\n# next batch");
                }
                out.write('\n');
            }
        }
        rulesFile = directory.resolve("rules.yaml");
        Files.writeString(rulesFile, """
                lists:
                  blocked: { file: ./blocked.txt }
                listeners:
                  bench:
                    rules:
                      - name: deny-blocked
                        source: [list:blocked]
                        action: reject
                    default: accept
                """);
        // not loaded here: coldLoad must see the first load of its JVM (an invalid file fails the benchmark)
    }

    /** A single address as written in lists (no /32, /128), a network with its prefix. */
    private static String text(Cidr cidr) {
        String text = cidr.toString();
        boolean single = cidr.prefix() == (cidr.isIpv6() ? 128 : 32);
        return single ? text.substring(0, text.indexOf('/')) : text;
    }

    @TearDown(Level.Trial)
    public void deleteFiles() throws IOException {
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }

    @Benchmark
    @Fork(1)
    @Warmup(iterations = 3)
    @Measurement(iterations = 5)
    public Policy warmLoad() throws PolicyException {
        return Policy.load(rulesFile);
    }

    @Benchmark
    @Fork(3)
    @Warmup(iterations = 0)
    @Measurement(iterations = 1)
    public Policy coldLoad() throws PolicyException {
        return Policy.load(rulesFile);
    }
}
