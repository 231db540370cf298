package io.portcullis.policy.limit;

import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

/**
 * The limiter of one rule, compiled and linked to its state in a {@link LimiterRegistry}: it
 * rejects a connection past its bound and otherwise passes it on to the next rule.
 *
 * <p>Thread-safe; {@link #admit} runs on the event loop and does not wait on I/O. The key tables are
 * concurrent maps: a new key may briefly lock one bin of one map, and a rate limit's table (Caffeine)
 * runs its bounded maintenance on the calling thread now and then, under Caffeine's own lock — at the key
 * cap on one thread at most every 100 ms, to sweep out expired keys.
 */
public sealed interface Limiter permits RateLimiter, ConcurrencyLimiter {

    /** The settings as written in the rule. */
    LimitSettings settings();

    /**
     * Counts one connection: takes a token or a slot for its key, or refuses it. A returned
     * {@link ConcurrencyPermit} must be released when the connection ends (the evaluation does this
     * for connections it rejects, and hands the rest to the gateway through {@link Verdict#permit()}).
     *
     * @param sourceAddress the request's source address bytes; null when unresolved
     */
    Admission admit(InspectRequest request, byte[] sourceAddress);

    /** The verdict given when the limiter refuses a connection because it is at its bound. */
    Verdict refusal();

    /** Keys with state now (buckets not yet expired; counters not back at zero). For views and tests. */
    long trackedKeys();

    /**
     * Connections refused because their key was new while this limiter tracked
     * {@link LimiterRegistry#maxKeysPerLimiter()} keys, since its state was made (it survives reloads
     * with the state).
     */
    long refusedAtKeyCap();
}
