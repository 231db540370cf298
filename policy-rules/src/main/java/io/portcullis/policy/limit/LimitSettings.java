package io.portcullis.policy.limit;

/** The settings of one limiter as written in {@code rules.yaml}: a {@code rate-limit} or a {@code concurrency-limit}. */
public sealed interface LimitSettings permits RateLimit, ConcurrencyLimit {

    /** What the limiter counts per. */
    LimitKey key();

    /** The rule key it is written under: {@code rate-limit} or {@code concurrency-limit}. */
    String ruleKey();

    /** Where its state lives: {@code local} (default) or {@code cluster}. */
    LimitScope scope();

    /** What a {@code scope: cluster} limiter does when the store does not answer; always {@code local} for local scope. */
    OnStoreFailure onStoreFailure();

    /** Whether the state is shared by the replicas ({@code scope: cluster}). */
    default boolean isCluster() {
        return scope() == LimitScope.CLUSTER;
    }

    /** {@code , scope: cluster, on-store-failure: X} for a cluster-scope limiter, else nothing: for {@code toString}. */
    default String scopeText() {
        return isCluster() ? ", scope: cluster, on-store-failure: " + onStoreFailure().label() : "";
    }
}
