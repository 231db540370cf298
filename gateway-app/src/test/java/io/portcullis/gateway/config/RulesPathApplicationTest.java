package io.portcullis.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.gateway.testing.GatewayUnderTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** A relative portcullis.rules is read from the working directory, and the start log names the absolute path read. */
@ExtendWith(OutputCaptureExtension.class)
class RulesPathApplicationTest {

    @Test
    void theStartLogNamesTheAbsolutePathOfARelativeRulesFile(CapturedOutput output) throws Exception {
        Path relative = Files.createDirectories(Path.of("target", "relative-" + UUID.randomUUID())).resolve("rules.yaml");
        Files.writeString(relative, "listeners:\n  db:\n    rules: []\n    default: accept\n");
        try (GatewayUnderTest gateway = new GatewayUnderTest()
                .properties("portcullis.rules=file:./" + relative)
                .backend("127.0.0.1:9")
                .addListener("db", "health-check.enabled=false")
                .start()) {
            assertThat(output.getOut()).contains("Policy loaded from " + relative.toAbsolutePath() + ": 1 listener(s), 0 rule(s)")
                    .contains("Watching " + relative.toAbsolutePath() + " (and its list files)");
        }
    }
}
