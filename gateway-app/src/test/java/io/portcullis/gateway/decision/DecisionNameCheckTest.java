package io.portcullis.gateway.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.gateway.config.PolicyFiles;
import io.portcullis.gateway.config.PolicyLoadException;
import io.portcullis.gateway.policy.PolicyChecks;
import io.portcullis.gateway.policy.PolicyChecks.ListenerFacts;
import io.portcullis.gateway.policy.PolicyReloader;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.core.io.FileSystemResource;

/** A pend rule that names a decision service that is not configured is refused at start and on reload. */
class DecisionNameCheckTest {

    private static final String GOOD = """
            listeners:
              db:
                rules:
                  - name: ask-authz
                    source: [192.0.2.0/24]
                    action: pend
                    decision: authz
                  - name: wait
                    action: pend
                default: reject
            """;

    private static final String TYPO = GOOD.replace("decision: authz", "decision: authz2");

    @TempDir
    Path dir;

    private static PolicyChecks checks() {
        return PolicyChecks.of(List.of(new ListenerFacts("db", true, false, false)), DecisionNameCheck.of(Set.of("authz")));
    }

    @Test
    void namesEachRuleThatAsksForAnUnknownService() throws Exception {
        Policy policy = Policy.parse(TYPO, "rules.yaml");
        assertThat(DecisionNameCheck.of(Set.of("authz", "opa")).problems(policy)).containsExactly(
                "rules.yaml:4:9: rule 'ask-authz' of listener 'db' names decision service 'authz2', which is not "
                        + "configured (configured: authz, opa); add it under portcullis.decision-services or fix the name");
        assertThat(DecisionNameCheck.of(Set.of()).problems(policy)).singleElement().asString().contains("(none is)");
        assertThat(DecisionNameCheck.of(Set.of("authz")).problems(Policy.parse(GOOD, "rules.yaml"))).isEmpty();
        assertThat(DecisionNameCheck.none().problems(policy)).isEmpty();
    }

    @Test
    void theStartRefusesThePolicy() throws Exception {
        Path file = dir.resolve("rules.yaml");
        Files.writeString(file, TYPO);
        assertThatThrownBy(() -> PolicyFiles.load(new FileSystemResource(file), PolicyOptions.defaults(), checks()))
                .isInstanceOf(PolicyLoadException.class)
                .hasMessageContaining("names decision service 'authz2', which is not configured");
    }

    @Test
    void aReloadIsRefusedAndTheRunningPolicyStays() throws Exception {
        Path file = dir.resolve("rules.yaml");
        Files.writeString(file, GOOD);
        Policy running = Policy.load(file);
        PolicyEngine engine = new PolicyEngine(running);
        try (PolicyReloader reloader = new PolicyReloader(engine, file, PolicyOptions.defaults(), checks(),
                success -> { }, Duration.ofSeconds(1))) {
            Files.writeString(file, TYPO);
            PolicyReloader.Result result = reloader.reload();
            assertThat(result.success()).isFalse();
            assertThat(result.errors()).singleElement().asString().contains("'authz2', which is not configured");
            assertThat(engine.current()).isSameAs(running);

            Files.writeString(file, GOOD.replace("name: wait", "name: wait-longer"));
            assertThat(reloader.reload().success()).isTrue();
        }
    }
}
