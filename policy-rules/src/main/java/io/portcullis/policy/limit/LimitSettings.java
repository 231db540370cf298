package io.portcullis.policy.limit;

/** The settings of one limiter as written in {@code rules.yaml}: a {@code rate-limit} or a {@code concurrency-limit}. */
public sealed interface LimitSettings permits RateLimit, ConcurrencyLimit {

    /** What the limiter counts per. */
    LimitKey key();

    /** The rule key it is written under: {@code rate-limit} or {@code concurrency-limit}. */
    String ruleKey();
}
