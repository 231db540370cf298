package io.portcullis.policy.limit;

import java.util.Objects;

/**
 * {@code concurrency-limit: {key: source-ip, max: 20}}: per key, at most {@code max} connections
 * open at once (accepted or pended and not yet ended).
 *
 * @param key            what is counted per
 * @param max            connections open at once per key
 * @param scope          where the counters live: this process, or the cluster's store (leases)
 * @param onStoreFailure for {@code scope: cluster}: what to do when the store does not answer ({@code local} for
 *                       {@code scope: local})
 */
public record ConcurrencyLimit(LimitKey key, int max, LimitScope scope, OnStoreFailure onStoreFailure)
        implements LimitSettings {

    public static final String KEY = "concurrency-limit";

    public ConcurrencyLimit {
        Objects.requireNonNull(key, "key");
        if (max < 1) {
            throw new IllegalArgumentException("max must be positive: " + max);
        }
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(onStoreFailure, "onStoreFailure");
        if (scope == LimitScope.LOCAL && onStoreFailure != OnStoreFailure.LOCAL) {
            throw new IllegalArgumentException("on-store-failure applies to scope: cluster only");
        }
    }

    /** A {@code scope: local} concurrency limit. */
    public ConcurrencyLimit(LimitKey key, int max) {
        this(key, max, LimitScope.LOCAL, OnStoreFailure.LOCAL);
    }

    @Override
    public String ruleKey() {
        return KEY;
    }

    @Override
    public String toString() {
        return "concurrency-limit{key: " + key + ", max: " + max + scopeText() + "}";
    }
}
