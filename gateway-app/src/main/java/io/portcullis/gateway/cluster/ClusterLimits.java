package io.portcullis.gateway.cluster;

import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.RateLimit;
import io.portcullis.policy.model.Permit;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The state of {@code scope: cluster} limiters, shared by every replica: a token bucket or a set of leases per
 * limiter and key. Asynchronous: nothing here waits, and a store that does not answer in time completes the future
 * with {@link StoreUnavailableException}, for the limiter's {@code on-store-failure} to decide. Futures complete on a
 * store thread, never on a listener's event loop. Thread-safe.
 *
 * <p>A limiter's state is identified by listener, rule and what shapes the state (a rate limit's key, rate and burst;
 * a concurrency limit's key), as {@code LimiterRegistry} does for local state: a changed rate starts fresh buckets.
 */
public interface ClusterLimits {

    /**
     * Takes one token from the bucket of {@code key} of a cluster-scope {@code rate-limit}.
     *
     * @param listener the listener's name
     * @param rule     the rule's name
     * @param settings the rule's rate limit
     * @param key      the connection's key as text (an address, a CIDR, the listener)
     * @return true when a token was taken, false when the bucket is empty
     */
    CompletableFuture<Boolean> tryConsume(String listener, String rule, RateLimit settings, String key);

    /**
     * Takes a lease of a cluster-scope {@code concurrency-limit} for {@code key}, when fewer than
     * {@code settings.max()} leases of live connections are held across the replicas. The lease lives while it is
     * renewed (this replica renews it until released) and is gone {@code lease-ttl} after its replica died.
     *
     * @return the lease, to release when the connection ends (idempotent); empty at {@code max}
     */
    CompletableFuture<Optional<Permit>> tryAcquire(String listener, String rule, ConcurrencyLimit settings, String key);
}
