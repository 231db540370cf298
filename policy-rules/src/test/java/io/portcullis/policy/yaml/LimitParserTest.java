package io.portcullis.policy.yaml;

import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.limit.LimitScope;
import io.portcullis.policy.limit.LimitSettings;
import io.portcullis.policy.limit.OnStoreFailure;
import io.portcullis.policy.limit.RateLimit;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.portcullis.policy.Errors.errorsOf;
import static io.portcullis.policy.Errors.rules;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code scope} and {@code on-store-failure} of {@code rate-limit} and {@code concurrency-limit}: what they compile
 * to, and every way to write them wrong, each at its exact file:line:column. (Rule lines start at line 4.)
 */
class LimitParserTest {

    private static LimitSettings settingsOf(String ruleLines) throws PolicyException {
        return Policy.parse(rules(ruleLines), "rules.yaml").listener("demo").orElseThrow()
                .rules().get(0).limiter().orElseThrow().settings();
    }

    @Test
    void scopeAndOnStoreFailureDefaultToLocal() throws PolicyException {
        LimitSettings rate = settingsOf("""
                      - name: r
                        rate-limit: {rate: 10/s, burst: 20}
                """);
        LimitSettings concurrency = settingsOf("""
                      - name: c
                        concurrency-limit: {max: 3, scope: local}
                """);

        assertThat(rate).isEqualTo(new RateLimit(LimitKey.SOURCE_IP, 10, Duration.ofSeconds(1), 20));
        assertThat(rate.scope()).isEqualTo(LimitScope.LOCAL);
        assertThat(rate.onStoreFailure()).isEqualTo(OnStoreFailure.LOCAL);
        assertThat(rate.isCluster()).isFalse();
        assertThat(concurrency).isEqualTo(new ConcurrencyLimit(LimitKey.SOURCE_IP, 3));
        assertThat(rate).hasToString("rate-limit{key: source-ip, rate: 10/s, burst: 20}");
    }

    @Test
    void clusterScopeCarriesItsOnStoreFailure() throws PolicyException {
        LimitSettings rate = settingsOf("""
                      - name: r
                        rate-limit: {key: source-cidr/24, rate: 5/m, scope: cluster, on-store-failure: reject}
                """);
        LimitSettings concurrency = settingsOf("""
                      - name: c
                        concurrency-limit:
                          key: listener
                          max: 100
                          scope: cluster
                """);
        LimitSettings accepting = settingsOf("""
                      - name: c
                        concurrency-limit: {max: 1, scope: cluster, on-store-failure: accept}
                """);

        assertThat(rate).isEqualTo(new RateLimit(LimitKey.parse("source-cidr/24").orElseThrow(), 5,
                Duration.ofMinutes(1), 5, LimitScope.CLUSTER, OnStoreFailure.REJECT));
        assertThat(rate).hasToString("rate-limit{key: source-cidr/24, rate: 5/m, burst: 5, scope: cluster,"
                + " on-store-failure: reject}");
        assertThat(concurrency).isEqualTo(new ConcurrencyLimit(LimitKey.LISTENER, 100, LimitScope.CLUSTER,
                OnStoreFailure.LOCAL));
        assertThat(concurrency.isCluster()).isTrue();
        assertThat(accepting.onStoreFailure()).isEqualTo(OnStoreFailure.ACCEPT);
    }

    @Test
    void aBadScopeIsRefusedWithTheNearestChoiceOrTheChoices() {
        assertThat(errorsOf(rules("""
                      - name: typo
                        rate-limit: {rate: 10/s, scope: clustr}
                      - name: capital
                        concurrency-limit: {max: 2, scope: Cluster}
                      - name: far
                        rate-limit: {rate: 10/s, scope: everywhere}
                """))).containsExactly(
                "rules.yaml:5:41: unknown scope 'clustr' (did you mean 'cluster'?)",
                "rules.yaml:7:44: unknown scope 'Cluster' (did you mean 'cluster'?)",
                "rules.yaml:9:41: unknown scope 'everywhere' (expected local or cluster)");
    }

    @Test
    void aBadOnStoreFailureIsRefusedWithTheNearestChoiceOrTheChoices() {
        assertThat(errorsOf(rules("""
                      - name: typo
                        rate-limit: {rate: 10/s, scope: cluster, on-store-failure: rejct}
                      - name: far
                        concurrency-limit: {max: 2, scope: cluster, on-store-failure: fail-open}
                """))).containsExactly(
                "rules.yaml:5:68: unknown on-store-failure 'rejct' (did you mean 'reject'?)",
                "rules.yaml:7:71: unknown on-store-failure 'fail-open' (expected local, accept or reject)");
    }

    @Test
    void onStoreFailureWithoutClusterScopeIsRefusedAtItsKey() {
        assertThat(errorsOf(rules("""
                      - name: no-scope
                        rate-limit: {rate: 10/s, on-store-failure: accept}
                      - name: local-scope
                        concurrency-limit:
                          max: 2
                          scope: local
                          on-store-failure: local
                """))).containsExactly(
                "rules.yaml:5:34: 'on-store-failure' applies to 'scope: cluster' only (this rate-limit has no scope,"
                        + " so scope: local); add scope: cluster, or remove it",
                "rules.yaml:10:11: 'on-store-failure' applies to 'scope: cluster' only (this concurrency-limit has"
                        + " scope: local); add scope: cluster, or remove it");
    }

    @Test
    void aBadScopeDoesNotAlsoBlameOnStoreFailure() {
        assertThat(errorsOf(rules("""
                      - name: r
                        rate-limit: {rate: 10/s, scope: clustre, on-store-failure: accept}
                """))).containsExactly("rules.yaml:5:41: unknown scope 'clustre' (did you mean 'cluster'?)");
    }

    @Test
    void wrongTypesAreRefused() {
        assertThat(errorsOf(rules("""
                      - name: list
                        rate-limit: {rate: 10/s, scope: [cluster]}
                      - name: mapping
                        concurrency-limit: {max: 2, scope: cluster, on-store-failure: {accept: true}}
                      - name: empty
                        concurrency-limit: {max: 2, scope: }
                      - name: number
                        rate-limit: {rate: 10/s, scope: cluster, on-store-failure: 1}
                """))).containsExactly(
                "rules.yaml:5:41: expected a string, got a list",
                "rules.yaml:7:71: expected a string, got a mapping",
                "rules.yaml:9:43: expected a string, got an empty value",
                "rules.yaml:11:68: unknown on-store-failure '1' (expected local, accept or reject)");
    }

    @Test
    void misspeltKeysAreSuggested() {
        assertThat(errorsOf(rules("""
                      - name: r
                        rate-limit: {rate: 10/s, scpoe: cluster}
                      - name: c
                        concurrency-limit: {max: 2, scope: cluster, on-store-failur: reject}
                """))).containsExactly(
                "rules.yaml:5:34: unknown key 'scpoe' (did you mean 'scope'?)",
                "rules.yaml:7:53: unknown key 'on-store-failur' (did you mean 'on-store-failure'?)");
    }

    @Test
    void theSettingsRefuseOnStoreFailureWithLocalScope() {
        assertThatThrownBy(() -> new RateLimit(LimitKey.SOURCE_IP, 1, Duration.ofSeconds(1), 1, LimitScope.LOCAL,
                OnStoreFailure.ACCEPT)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scope: cluster only");
        assertThatThrownBy(() -> new ConcurrencyLimit(LimitKey.SOURCE_IP, 1, LimitScope.LOCAL, OnStoreFailure.REJECT))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConcurrencyLimit(LimitKey.SOURCE_IP, 1, null, OnStoreFailure.LOCAL))
                .isInstanceOf(NullPointerException.class);
    }
}
