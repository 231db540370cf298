package io.portcullis.policy;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
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
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes a list file ({@code blocked: {file: list.txt}}) as bytes, named from a fixed {@code rules.yaml} that
 * uses it as addresses, as fingerprints, or both: the policy loads, or fails with a {@link PolicyException}
 * whose errors are short ({@link LoadProperties}).
 *
 * <p>{@code mvn verify} replays the seed inputs in {@code ListFileFuzzTestInputs/} and runs
 * {@link #mutatedListFilesLoadOrFailTyped} (fixed seed). To fuzz for real, for {@code maxDuration}:
 * <pre>
 * JAZZER_FUZZ=1 mvn -pl policy-rules -am test -Dtest=ListFileFuzzTest#listFileLoadsOrFailsTyped \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class ListFileFuzzTest {

    /** How the rules use the list; the first byte of an input picks one. */
    private static final String[] RULES = {
        """
        lists:
          blocked: {file: list.txt}
        listeners:
          demo:
            rules:
              - name: deny
                source: [list:blocked]
                action: reject
            default: accept
        """,
        """
        lists:
          bots: {file: list.txt}
        listeners:
          demo:
            rules:
              - name: bots
                tls-fingerprint: [list:bots, none]
                action: reject
            default: accept
        """,
        """
        lists:
          a: {file: list.txt}
          b: {file: ./list.txt}
        listeners:
          demo:
            rules:
              - name: not-a
                source: ["!list:a", 10.0.0.0/8]
                action: accept
              - name: b
                tls-fingerprint: [list:b]
                action: reject
            default: reject
        """,
    };

    @TempDir
    static Path dir;

    static Optional<Policy> load(int rules, byte[] list) {
        Path file = dir.resolve("rules.yaml");
        try {
            Files.writeString(file, RULES[Math.floorMod(rules, RULES.length)]);
            Files.write(dir.resolve("list.txt"), list);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return LoadProperties.check(file);
    }

    @FuzzTest(maxDuration = "2m")
    @DictionaryEntries({"10.0.0.0/8", "192.0.2.1", "::1", "2001:db8::/32", "::ffff:10.0.0.1", "fe80::1%eth0",
        "t13d1516h2_8daaf6152771_e5627efa2ab1", "list:", "!", "#", "/32", "/128"})
    void listFileLoadsOrFailsTyped(FuzzedDataProvider in) {
        load(in.consumeInt(0, RULES.length - 1), in.consumeRemainingAsBytes());
    }

    @Test
    @Timeout(120)
    void mutatedListFilesLoadOrFailTyped() throws IOException {
        List<byte[]> seeds = RulesFileFuzzTest.seeds(
                "src/test/resources/io/portcullis/policy/ListFileFuzzTestInputs/listFileLoadsOrFailsTyped");
        Random random = new Random(0x11577L);
        int loaded = 0;
        int refused = 0;
        for (int i = 0; i < 200; i++) {
            byte[] seed = seeds.get(random.nextInt(seeds.size()));
            byte[] input = random.nextInt(4) == 0 ? seed : Mutations.mutate(seed, seeds, random);
            // the seeds are FuzzedDataProvider inputs: their last byte picks the rules (consumeInt reads from the end)
            int rules = input.length == 0 ? 0 : input[input.length - 1];
            byte[] list = input.length == 0 ? input : java.util.Arrays.copyOf(input, input.length - 1);
            Optional<Policy> policy;
            try {
                policy = load(rules, list);
            } catch (Throwable t) {
                throw new AssertionError("rules " + Math.floorMod(rules, RULES.length) + ", list file:\n"
                        + Mutations.show(list), t);
            }
            if (policy.isPresent()) {
                loaded++;
            } else {
                refused++;
            }
        }
        assertThat(loaded).isPositive();
        assertThat(refused).isPositive();
    }

    /** The seed for {@code rules} (0 to 2) and list file {@code text}, as a FuzzedDataProvider input. */
    static byte[] seed(int rules, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        byte[] seed = java.util.Arrays.copyOf(bytes, bytes.length + 1);
        seed[bytes.length] = (byte) rules;
        return seed;
    }
}
