package io.portcullis.policy;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes {@code rules.yaml} as bytes through {@link Policy#load} (and {@link Validate}): whatever the file holds,
 * the policy loads and evaluates requests, or the load fails with a {@link PolicyException} whose errors are
 * short — never another exception, never a hang ({@link LoadProperties}).
 *
 * <p>{@code mvn verify} replays the seed inputs in {@code RulesFileFuzzTestInputs/} and runs
 * {@link #mutatedRulesFilesLoadOrFailTyped} (fixed seed). To fuzz for real, for {@code maxDuration}; the corpus
 * is kept in {@code policy-rules/.cifuzz-corpus/}, so a repeated run goes on where the last stopped:
 * <pre>
 * JAZZER_FUZZ=1 mvn -pl policy-rules -am test -Dtest=RulesFileFuzzTest#rulesFileLoadsOrFailsTyped \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class RulesFileFuzzTest {

    @TempDir
    static Path dir;

    static Optional<Policy> load(byte[] yaml) {
        Path rules = dir.resolve("rules.yaml");
        try {
            Files.write(rules, yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return LoadProperties.check(rules);
    }

    @FuzzTest(maxDuration = "2m")
    @DictionaryEntries({"lists", "listeners", "rules", "default", "name", "action", "accept", "reject", "pend",
        "source", "port", "sni", "alpn", "tls-fingerprint", "pp-authority", "pp-tlv", "time", "decision", "timeout",
        "route", "rate-limit", "concurrency-limit", "mode", "shadow", "file", "list:", "!list:", "key", "rate",
        "burst", "max", "days", "from", "to", "zone", "type", "values", "hex:", "none", "source-cidr/", "10/s",
        "mon-fri", "07:00", "24:00", "Europe/Berlin", "10.0.0.0/8", "::1", "*.example.com", "&a ", "*a", "<<",
        "---", "? ", "!!str", "t13d1516h2_8daaf6152771_e5627efa2ab1"})
    void rulesFileLoadsOrFailsTyped(byte[] yaml) {
        load(yaml);
    }

    /** The seed inputs with bytes flipped, lines swapped, dropped and repeated, and snippets spliced in. */
    @Test
    @Timeout(120)
    void mutatedRulesFilesLoadOrFailTyped() throws IOException {
        List<byte[]> seeds = seeds("src/test/resources/io/portcullis/policy/RulesFileFuzzTestInputs/rulesFileLoadsOrFailsTyped");
        Random random = new Random(0x5eed_7a11L);
        int loaded = 0;
        int refused = 0;
        for (int i = 0; i < 1_000; i++) {
            byte[] input = Mutations.mutate(seeds.get(random.nextInt(seeds.size())), seeds, random);
            Optional<Policy> policy;
            try {
                policy = load(input);
            } catch (Throwable t) {
                throw new AssertionError("input " + i + ":\n" + Mutations.show(input), t);
            }
            if (policy.isPresent()) {
                loaded++;
            } else {
                refused++;
            }
        }
        // Both outcomes occur: the mutations get past the YAML syntax into validation.
        assertThat(loaded).isPositive();
        assertThat(refused).isPositive();
    }

    /** The seed inputs of a fuzz test (run from the module's directory, as Maven does). */
    static List<byte[]> seeds(String directory) throws IOException {
        Path inputs = Path.of(directory);
        List<byte[]> seeds = new ArrayList<>();
        try (Stream<Path> files = Files.list(inputs)) {
            for (Path file : files.sorted().toList()) {
                seeds.add(Files.readAllBytes(file));
            }
        }
        assertThat(seeds).hasSizeGreaterThan(3);
        return seeds;
    }
}
