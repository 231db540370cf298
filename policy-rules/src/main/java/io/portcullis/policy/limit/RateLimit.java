package io.portcullis.policy.limit;

import java.time.Duration;
import java.util.Objects;

/**
 * {@code rate-limit: {key: source-ip, rate: 10/s, burst: 20}}: per key, at most {@code burst}
 * connections at once, refilled at {@code tokens} per {@code period} (a token bucket).
 *
 * @param key    what is counted per
 * @param tokens connections allowed per period (the {@code N} of {@code N/s})
 * @param period one second or one minute
 * @param burst  the bucket's size: connections allowed back to back after a quiet spell
 * @param scope  where the buckets live: this process, or the cluster's store
 * @param onStoreFailure for {@code scope: cluster}: what to do when the store does not answer ({@code local} for
 *               {@code scope: local})
 */
public record RateLimit(LimitKey key, long tokens, Duration period, long burst, LimitScope scope,
                        OnStoreFailure onStoreFailure) implements LimitSettings {

    public static final String KEY = "rate-limit";

    public RateLimit {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(period, "period");
        if (tokens < 1 || burst < 1 || period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("rate and burst must be positive");
        }
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(onStoreFailure, "onStoreFailure");
        if (scope == LimitScope.LOCAL && onStoreFailure != OnStoreFailure.LOCAL) {
            throw new IllegalArgumentException("on-store-failure applies to scope: cluster only");
        }
    }

    /** A {@code scope: local} rate limit. */
    public RateLimit(LimitKey key, long tokens, Duration period, long burst) {
        this(key, tokens, period, burst, LimitScope.LOCAL, OnStoreFailure.LOCAL);
    }

    @Override
    public String ruleKey() {
        return KEY;
    }

    /** How long an untouched bucket takes to fill up again: after that it is as good as new. */
    public Duration refillTime() {
        double nanos = Math.ceil((double) burst * period.toNanos() / tokens);
        return Duration.ofNanos((long) Math.max(1, Math.min(nanos, Long.MAX_VALUE / 2.0)));
    }

    /** {@code 10/s} or {@code 600/m}. */
    public String rateText() {
        return tokens + (period.equals(Duration.ofSeconds(1)) ? "/s" : period.equals(Duration.ofMinutes(1)) ? "/m"
                : " per " + period);
    }

    @Override
    public String toString() {
        return "rate-limit{key: " + key + ", rate: " + rateText() + ", burst: " + burst + scopeText() + "}";
    }
}
