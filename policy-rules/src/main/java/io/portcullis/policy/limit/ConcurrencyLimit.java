package io.portcullis.policy.limit;

import java.util.Objects;

/**
 * {@code concurrency-limit: {key: source-ip, max: 20}}: per key, at most {@code max} connections
 * open at once (accepted or pended and not yet ended).
 */
public record ConcurrencyLimit(LimitKey key, int max) implements LimitSettings {

    public static final String KEY = "concurrency-limit";

    public ConcurrencyLimit {
        Objects.requireNonNull(key, "key");
        if (max < 1) {
            throw new IllegalArgumentException("max must be positive: " + max);
        }
    }

    @Override
    public String ruleKey() {
        return KEY;
    }

    @Override
    public String toString() {
        return "concurrency-limit{key: " + key + ", max: " + max + "}";
    }
}
