package io.portcullis.policy;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes {@code rules.yaml} built from choices — known keys with values that are right, nearly right or
 * anything, anchors and aliases, and a list file — so that inputs get past the YAML syntax into every
 * validator: the policy loads and evaluates requests, or fails with short {@link PolicyException} errors
 * ({@link LoadProperties}).
 *
 * <p>{@code mvn verify} replays the seed inputs in {@code GeneratedRulesFuzzTestInputs/} and runs
 * {@link #randomRulesLoadOrFailTyped} (fixed seed). To fuzz for real, for {@code maxDuration}:
 * <pre>
 * JAZZER_FUZZ=1 mvn -pl policy-rules -am test -Dtest=GeneratedRulesFuzzTest#generatedRulesLoadOrFailTyped \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class GeneratedRulesFuzzTest {

    @TempDir
    static Path dir;

    /** Where the generator's decisions come from: Jazzer's input, or a seeded {@link Random}. */
    interface Choices {
        /** 0 to {@code n - 1}. */
        int pick(int n);

        /** Any text up to {@code max} characters. */
        String text(int max);
    }

    static Optional<Policy> load(Choices choices) {
        RulesGenerator generated = new RulesGenerator(choices);
        String yaml = generated.rules();
        try {
            Files.writeString(dir.resolve("list.txt"), generated.listFile());
            Files.writeString(dir.resolve("rules.yaml"), yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            return LoadProperties.check(dir.resolve("rules.yaml"));
        } catch (Throwable t) {
            throw new AssertionError("rules.yaml:\n" + Mutations.show(yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    + "\nlist.txt:\n" + Mutations.show(generated.listFile().getBytes(java.nio.charset.StandardCharsets.UTF_8)), t);
        }
    }

    @FuzzTest(maxDuration = "2m")
    void generatedRulesLoadOrFailTyped(FuzzedDataProvider in) {
        load(new Choices() {
            @Override
            public int pick(int n) {
                return in.consumeInt(0, n - 1);
            }

            @Override
            public String text(int max) {
                return in.consumeString(max);
            }
        });
    }

    @Test
    @Timeout(120)
    void randomRulesLoadOrFailTyped() {
        Random random = new Random(0x9e7e7a7eL);
        Choices choices = new Choices() {
            @Override
            public int pick(int n) {
                return random.nextInt(n);
            }

            @Override
            public String text(int max) {
                int length = random.nextInt(max + 1);
                StringBuilder text = new StringBuilder(length);
                for (int i = 0; i < length; i++) {
                    text.append((char) (random.nextInt(8) == 0 ? random.nextInt(0x3000) : 0x20 + random.nextInt(0x5f)));
                }
                return text.toString();
            }
        };
        int loaded = 0;
        int refused = 0;
        for (int i = 0; i < 400; i++) {
            if (load(choices).isPresent()) {
                loaded++;
            } else {
                refused++;
            }
        }
        // Both outcomes occur: generated files get through validation, and its checks fire.
        assertThat(loaded).isGreaterThan(5);
        assertThat(refused).isGreaterThan(100);
    }
}
