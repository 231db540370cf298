/**
 * Limiters of {@code rules.yaml}: {@code rate-limit} (token buckets, Bucket4j) and
 * {@code concurrency-limit} (open-connection counters with {@link io.portcullis.policy.model.Permit}s),
 * counted per {@link io.portcullis.policy.limit.LimitKey}. Their state lives in a
 * {@link io.portcullis.policy.limit.LimiterRegistry} outside compiled policies, so it survives reloads,
 * and is bounded: idle keys expire, counters leave at zero, and each limiter tracks a capped number of keys
 * (past the cap a connection with a new key is refused; tracked keys are never evicted).
 * This state is local to the process. A limiter with {@code scope: cluster} ({@link io.portcullis.policy.limit.LimitScope})
 * shares its state with the other replicas through a store outside this library: the stepwise evaluation
 * ({@code ListenerPolicy.evaluateStepwise}) hands the caller a {@code ClusterStep} per such limiter, with the
 * connection's key as text ({@link io.portcullis.policy.limit.LimitKey#text}); the local state still serves it in
 * shadow mode, without a store, and when the store fails ({@code on-store-failure: local}).
 */
package io.portcullis.policy.limit;
