package io.portcullis.policy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code portcullis validate FILE...}. */
class ValidateTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int validate(String... files) {
        return Validate.run(List.of(files), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aGoodFileIsOkWithItsCounts() throws Exception {
        String good = Files.writeString(dir.resolve("rules.yaml"), """
                listeners:
                  postgres:
                    rules:
                      - name: a
                        source: [10.0.0.0/8]
                        action: accept
                      - name: b
                        rate-limit: {rate: 1/s}
                  ssh:
                    rules:
                      - name: c
                        action: pend
                    default: reject
                  web:
                    default: accept
                """.replace("  ssh:", "    default: reject\n  ssh:")).toString();

        assertThat(validate(good)).isZero();
        assertThat(out()).isEqualTo(good + ": OK (3 listeners, 3 rules)\n");
        assertThat(err()).isEmpty();
    }

    @Test
    void everyErrorOfEveryFileIsPrintedAndTheStatusIsOne() throws IOException {
        String good = Files.writeString(dir.resolve("good.yaml"), "listeners:\n  one:\n    rules:\n      - name: a\n"
                + "        action: accept\n    default: reject\n").toString();
        String bad = Files.writeString(dir.resolve("bad.yaml"), """
                listeners:
                  demo:
                    rules:
                      - name: a
                        action: acept
                    default: rejct
                """).toString();
        String missing = dir.resolve("missing.yaml").toString();

        assertThat(validate(good, bad, missing)).isEqualTo(1);
        assertThat(out()).isEqualTo(good + ": OK (1 listener, 1 rule)\n");
        assertThat(err()).isEqualTo(String.join("\n",
                bad + ":5:17: unknown action 'acept' (expected accept, reject or pend)",
                bad + ":6:14: unknown action 'rejct' (expected accept, reject or pend)",
                missing + ":1:1: cannot read the policy file: no such file", ""));
    }

    @Test
    void theContractExampleValidates() throws Exception {
        String contract = Path.of(ValidateTest.class.getResource("/rules/contract.yaml").toURI()).toString();

        assertThat(validate(contract)).isZero();
        assertThat(out()).isEqualTo(contract + ": OK (1 listener, 6 rules)\n");
    }

    @Test
    void noFileIsAUsageError() {
        assertThat(validate()).isEqualTo(1);
        assertThat(err()).startsWith("usage: validate FILE...");
    }
}
