package io.portcullis.gateway.cluster;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.RateLimit;
import io.portcullis.policy.model.Permit;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * {@link ClusterLimits} in the cluster's Redis ({@link ClusterStore}): token buckets through Bucket4j
 * ({@link RedisTokenBuckets}) and concurrency leases in sorted sets renewed by this replica ({@link RedisLeases});
 * the key layout is {@link RedisKeys}'s. Two connections of its own on the store, under the store's timeout and
 * in-flight bound; every failure is a {@link StoreUnavailableException}.
 *
 * <p>Meters ({@link #bindTo}): {@code portcullis_cluster_leases} (leases this replica holds) and
 * {@code portcullis_cluster_lease_renewals_total{result=renewed|lost}}. Thread-safe; futures complete on a store
 * thread, never on the caller's.
 */
public final class RedisClusterLimits implements ClusterLimits, AutoCloseable {

    private final RedisTokenBuckets buckets;
    private final RedisLeases leases;

    /** Opens its connections (in the background, like the store's) and starts renewing leases. */
    public RedisClusterLimits(ClusterStore store) {
        this.buckets = new RedisTokenBuckets(store);
        this.leases = new RedisLeases(store);
    }

    /** Any thread; does not block. */
    @Override
    public CompletableFuture<Boolean> tryConsume(String listener, String rule, RateLimit settings, String key) {
        RedisTokenBuckets.Shape shape = buckets.shape(settings);
        return buckets.tryConsume(RedisKeys.rate(listener, rule, shape.keyPart(), key), shape);
    }

    /** Any thread; does not block. The permit releases from any thread, once. */
    @Override
    public CompletableFuture<Optional<Permit>> tryAcquire(String listener, String rule, ConcurrencyLimit settings,
                                                          String key) {
        return leases.tryAcquire(RedisKeys.concurrency(listener, rule, settings, key), settings.max());
    }

    /** Whether both its connections are up now. */
    public boolean connected() {
        return buckets.connected() && leases.connected();
    }

    /** Leases this replica holds now (connections open under a cluster-scope concurrency limit). */
    public int leasesHeld() {
        return leases.held();
    }

    /** Leases renewed since the start. */
    public long leasesRenewed() {
        return leases.renewed();
    }

    /** Leases that a renewal found gone from Redis (and added back) since the start. */
    public long leasesLost() {
        return leases.lost();
    }

    /** Renews every live lease now, on the caller's thread (waits for room among renewals in flight): for tests. */
    void renewNow() throws InterruptedException {
        leases.renew();
    }

    /**
     * Meters: {@code portcullis_cluster_leases} and {@code portcullis_cluster_lease_renewals_total{result}};
     * tagged by nothing that clients choose.
     */
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("portcullis.cluster.leases", leases, RedisLeases::held)
                .description("Concurrency leases this replica holds in the cluster's Redis (its open connections under"
                        + " cluster-scope concurrency limits)")
                .register(registry);
        FunctionCounter.builder("portcullis.cluster.lease.renewals", leases, RedisLeases::renewed)
                .description("Lease renewals: renewed, or lost (found gone from Redis, as after a restart, and added"
                        + " back since its connection is still open)")
                .tag("result", "renewed").register(registry);
        FunctionCounter.builder("portcullis.cluster.lease.renewals", leases, RedisLeases::lost)
                .description("Lease renewals: renewed, or lost (found gone from Redis, as after a restart, and added"
                        + " back since its connection is still open)")
                .tag("result", "lost").register(registry);
    }

    /** Stops renewing and releases the leases still held; before the store closes. */
    @Override
    public void close() {
        leases.close();
    }
}
