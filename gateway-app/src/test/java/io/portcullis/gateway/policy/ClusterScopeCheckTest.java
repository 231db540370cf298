package io.portcullis.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.gateway.config.PolicyFiles;
import io.portcullis.gateway.config.PolicyLoadException;
import io.portcullis.gateway.decision.DecisionNameCheck;
import io.portcullis.gateway.policy.PolicyChecks.ListenerFacts;
import io.portcullis.gateway.testing.StartFailure;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.core.io.FileSystemResource;

/**
 * A {@code scope: cluster} limiter needs the cluster store: without {@code portcullis.cluster.redis.url} the policy is
 * refused at start and on reload (shadow rules too), naming the rule, the listener and the key to set.
 */
class ClusterScopeCheckTest {

    private static final String LOCAL = """
            listeners:
              db:
                rules:
                  - name: per-ip
                    rate-limit: {rate: 10/s}
                default: accept
            """;

    private static final String CLUSTER = """
            listeners:
              db:
                rules:
                  - name: per-ip
                    rate-limit: {rate: 10/s, scope: cluster}
                  - name: watch
                    concurrency-limit: {max: 3, scope: cluster, on-store-failure: reject}
                    mode: shadow
                default: accept
            """;

    private static final String PER_IP = "rules.yaml:4:9: rule 'per-ip' of listener 'db' has a rate-limit with scope:"
            + " cluster, but no cluster store is configured; set portcullis.cluster.redis.url (the Redis the replicas"
            + " share), or use scope: local";

    @TempDir
    Path dir;

    private static PolicyChecks checks(boolean clusterStore) {
        return PolicyChecks.of(List.of(new ListenerFacts("db", true, false, false)), DecisionNameCheck.none(), clusterStore);
    }

    @Test
    void everyClusterLimiterIsNamedWhenNoStoreIsConfigured() throws Exception {
        Policy policy = Policy.parse(CLUSTER, "rules.yaml");

        assertThat(checks(false).problems(policy)).containsExactly(PER_IP,
                "rules.yaml:6:9: rule 'watch' of listener 'db' has a concurrency-limit with scope: cluster, but no"
                        + " cluster store is configured; set portcullis.cluster.redis.url (the Redis the replicas share),"
                        + " or use scope: local");
        assertThat(PolicyChecks.of(List.of(new ListenerFacts("db", true, false, false)), DecisionNameCheck.none())
                .problems(policy)).as("the checks without a store argument know no store").hasSize(2);
        assertThat(checks(true).problems(policy)).isEmpty();
        assertThat(checks(false).problems(Policy.parse(LOCAL, "rules.yaml"))).isEmpty();
        assertThat(PolicyChecks.standalone().problems(policy)).as("validate without a configuration").isEmpty();
    }

    @Test
    void theStartRefusesThePolicy() throws Exception {
        Path file = Files.writeString(dir.resolve("rules.yaml"), CLUSTER);
        assertThatThrownBy(() -> PolicyFiles.load(new FileSystemResource(file), PolicyOptions.defaults(), checks(false)))
                .isInstanceOf(PolicyLoadException.class)
                .hasMessageContaining("rule 'per-ip' of listener 'db' has a rate-limit with scope: cluster")
                .hasMessageContaining("portcullis.cluster.redis.url");
    }

    @Test
    void aReloadIsRefusedAndTheRunningPolicyStays() throws Exception {
        Path file = Files.writeString(dir.resolve("rules.yaml"), LOCAL);
        Policy running = Policy.load(file);
        PolicyEngine engine = new PolicyEngine(running);
        try (PolicyReloader reloader = new PolicyReloader(engine, file, PolicyOptions.defaults(), checks(false),
                success -> { }, Duration.ofSeconds(1))) {
            Files.writeString(file, CLUSTER);
            PolicyReloader.Result result = reloader.reload();
            assertThat(result.success()).isFalse();
            assertThat(result.errors()).anySatisfy(e -> assertThat(e).endsWith(PER_IP.substring("rules.yaml".length())));
            assertThat(engine.current()).isSameAs(running);
        }
    }

    @Test
    void theApplicationDoesNotStartWithAClusterLimiterAndNoRedis() throws Exception {
        Path file = Files.writeString(dir.resolve("rules.yaml"), CLUSTER);
        Throwable failure = StartFailure.of("--server.port=0", "--portcullis.rules=file:" + file,
                "--portcullis.listeners[0].name=db", "--portcullis.listeners[0].bind=127.0.0.1:0",
                "--portcullis.listeners[0].backends[0]=127.0.0.1:9");
        assertThat(StartFailure.errors(failure)).contains(file.toAbsolutePath() + PER_IP.substring("rules.yaml".length()));
    }
}
