/**
 * Limiters of {@code rules.yaml}: {@code rate-limit} (token buckets, Bucket4j) and
 * {@code concurrency-limit} (open-connection counters with {@link io.portcullis.policy.model.Permit}s),
 * counted per {@link io.portcullis.policy.limit.LimitKey}. Their state lives in a
 * {@link io.portcullis.policy.limit.LimiterRegistry} outside compiled policies, so it survives reloads,
 * and is bounded: idle keys expire, counters leave at zero, and each limiter tracks a capped number of keys
 * (past the cap a connection with a new key is refused; tracked keys are never evicted).
 * State is local to this process; cluster-wide limits are for later.
 */
package io.portcullis.policy.limit;
