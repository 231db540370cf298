package io.portcullis.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code portcullis validate FILE}: the real main in its own JVM, exit code and messages, nothing started. */
class ValidateCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
    }

    private static Run validate(Path... files) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                PortcullisApplication.class.getName(), "validate"));
        for (Path f : files) {
            command.add(f.toString());
        }
        Process p = new ProcessBuilder(command).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("validate did not finish within 60 s");
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void aValidFileExitsZero() throws Exception {
        Path rules = Files.writeString(dir.resolve("rules.yaml"),
                "listeners:\n  db:\n    rules:\n      - name: ok\n        source: [127.0.0.1]\n        action: accept\n    default: reject\n");
        Run run = validate(rules);
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("rules.yaml").contains("OK");
        assertThat(run.out() + run.err()).doesNotContain("Started PortcullisApplication");
    }

    @Test
    void aBrokenFileExitsOneWithFileLineColumn() throws Exception {
        Path rules = Files.writeString(dir.resolve("rules.yaml"),
                "listeners:\n  db:\n    rules:\n      - name: ok\n        sourc: [127.0.0.1]\n        action: accept\n    default: reject\n");
        Run run = validate(rules);
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.out() + run.err()).contains("rules.yaml:5:9").contains("did you mean 'source'");
    }
}
