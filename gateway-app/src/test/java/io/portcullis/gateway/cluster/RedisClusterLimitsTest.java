package io.portcullis.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.portcullis.gateway.testing.RedisServer;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.limit.RateLimit;
import io.portcullis.policy.model.Permit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two replicas (two stores with their own replica ids, each with its {@link RedisClusterLimits}) against one real
 * redis-server: what they share, what a dead replica leaves behind, and a Redis that hangs or restarts.
 */
class RedisClusterLimitsTest {

    private static final Duration TIMEOUT = Duration.ofMillis(300);
    private static final Duration LEASE_TTL = Duration.ofMillis(1500);
    private static final ConcurrencyLimit THREE = new ConcurrencyLimit(LimitKey.SOURCE_IP, 3);

    private RedisServer redis;
    private Replica r1;
    private Replica r2;

    /** One gateway replica: its store and its limits. */
    private record Replica(ClusterStore store, RedisClusterLimits limits) implements AutoCloseable {

        static Replica start(String id, RedisServer redis) throws InterruptedException {
            ClusterStore store = new ClusterStore(id, redis.url(), TIMEOUT, 1, 1000, LEASE_TTL);
            Replica replica = new Replica(store, new RedisClusterLimits(store));
            await("replica " + id + " connected", replica.limits::connected);
            return replica;
        }

        boolean consume(RateLimit settings, String key) throws Exception {
            return limits.tryConsume("web", "rate", settings, key).get(5, TimeUnit.SECONDS);
        }

        Optional<Permit> acquire(ConcurrencyLimit settings, String key) throws Exception {
            return limits.tryAcquire("web", "conc", settings, key).get(5, TimeUnit.SECONDS);
        }

        @Override
        public void close() {
            limits.close();
            store.close();
        }
    }

    @BeforeEach
    void start() throws Exception {
        redis = RedisServer.start();
        r1 = Replica.start("r1", redis);
        r2 = Replica.start("r2", redis);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {r1, r2, redis}) {
            if (c != null) {
                c.close();
            }
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what + " within 15 s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private static ClusterStore.Failure failureOf(CompletableFuture<?> f) {
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(StoreUnavailableException.class);
        return ((StoreUnavailableException) f.handle((v, e) -> e).join()).failure();
    }

    private static String concKey(String key) {
        return RedisKeys.concurrency("web", "conc", THREE, key);
    }

    private static String rateKey(RateLimit settings, String key) {
        return RedisKeys.rate("web", "rate", RedisKeys.shape(settings), key);
    }

    private long zcard(String redisKey) {
        return redis.integer("ZCARD " + redisKey);
    }

    @Test
    void twoReplicasShareOneBurstExactly() throws Exception {
        RateLimit sixPerMinute = new RateLimit(LimitKey.SOURCE_IP, 1, Duration.ofMinutes(1), 6);
        int[] passed = new int[2];
        List<Boolean> outcomes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            boolean ok = (i % 2 == 0 ? r1 : r2).consume(sixPerMinute, "192.0.2.1");
            outcomes.add(ok);
            passed[i % 2] += ok ? 1 : 0;
        }
        assertThat(outcomes.subList(0, 6)).containsOnly(true);
        assertThat(outcomes.subList(6, 20)).as("one token a minute: none back within the test").containsOnly(false);
        assertThat(passed).containsExactly(3, 3);
        assertThat(r1.consume(sixPerMinute, "192.0.2.2")).as("another key, another bucket").isTrue();
    }

    @Test
    void twoReplicasTogetherGetAboutTheRate() throws Exception {
        RateLimit twentyPerSecond = new RateLimit(LimitKey.SOURCE_IP, 20, Duration.ofSeconds(1), 5);
        int passed = 0;
        int calls = 0;
        long start = System.nanoTime();
        long elapsed;
        do {
            passed += (calls++ % 2 == 0 ? r1 : r2).consume(twentyPerSecond, "192.0.2.1") ? 1 : 0;
            elapsed = System.nanoTime() - start;
        } while (elapsed < TimeUnit.MILLISECONDS.toNanos(1500));
        // the burst, then one token each 50 ms; the bucket fills in 250 ms, far longer than a call takes
        double allowed = 5 + 20 * elapsed / 1e9;
        assertThat(calls).as("calls enough to drain the bucket").isGreaterThan(2 * passed);
        assertThat((double) passed).isBetween(0.8 * allowed, allowed + 2);
    }

    @Test
    void aChangedRateStartsAFreshBucketAndTheOldOneStays() throws Exception {
        RateLimit twoPerMinute = new RateLimit(LimitKey.SOURCE_IP, 1, Duration.ofMinutes(1), 2);
        RateLimit threePerMinute = new RateLimit(LimitKey.SOURCE_IP, 1, Duration.ofMinutes(1), 3);
        assertThat(List.of(r1.consume(twoPerMinute, "k"), r2.consume(twoPerMinute, "k"), r1.consume(twoPerMinute, "k")))
                .containsExactly(true, true, false);
        assertThat(List.of(r1.consume(threePerMinute, "k"), r2.consume(threePerMinute, "k"),
                r1.consume(threePerMinute, "k"), r2.consume(threePerMinute, "k")))
                .containsExactly(true, true, true, false);
        assertThat(r2.consume(twoPerMinute, "k")).isFalse();
        assertThat(r1.consume(new RateLimit(LimitKey.SOURCE_IP, 1, Duration.ofMinutes(1), 2), "k"))
                .as("equal settings, the same bucket").isFalse();
    }

    @Test
    void bucketsAndLeaseSetsExpireByThemselves() throws Exception {
        RateLimit fivePerSecond = new RateLimit(LimitKey.SOURCE_IP, 1, Duration.ofSeconds(1), 5);
        assertThat(r1.consume(fivePerSecond, "k")).isTrue();
        long bucketTtl = redis.integer("PTTL " + rateKey(fivePerSecond, "k"));
        assertThat(bucketTtl).as("full again one token later").isBetween(1L, 1000L);

        Permit permit = r1.acquire(THREE, "k").orElseThrow();
        long leasesTtl = redis.integer("PTTL " + concKey("k"));
        assertThat(leasesTtl).isBetween(1L, LEASE_TTL.toMillis());
        permit.release();
        await("the last lease's release removes the set", () -> redis.integer("EXISTS " + concKey("k")) == 0);
        await("the bucket expires when full", () -> redis.integer("EXISTS " + rateKey(fivePerSecond, "k")) == 0);
    }

    @Test
    void twoReplicasShareAConcurrencyLimitAndAReleaseAdmitsOne() throws Exception {
        Permit first = r1.acquire(THREE, "k").orElseThrow();
        r1.acquire(THREE, "k").orElseThrow();
        r2.acquire(THREE, "k").orElseThrow();
        assertThat(r1.acquire(THREE, "k")).isEmpty();
        assertThat(r2.acquire(THREE, "k")).isEmpty();
        assertThat(r2.acquire(THREE, "another")).as("another key").isPresent();
        assertThat(zcard(concKey("k"))).isEqualTo(3);
        assertThat(r1.limits.leasesHeld()).isEqualTo(2);

        // released by many threads at once: one slot back, once
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                first.release();
            });
            t.start();
            threads.add(t);
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        first.release();
        assertThat(r1.limits.leasesHeld()).isEqualTo(1);
        await("the release reaches Redis", () -> zcard(concKey("k")) == 2);
        assertThat(r2.acquire(THREE, "k")).isPresent();
        assertThat(r1.acquire(THREE, "k")).isEmpty();
        assertThat(zcard(concKey("k"))).isEqualTo(3);
    }

    @Test
    void leasesOfADeadReplicaVanishAfterTheTtlWhileALiveReplicasStay() throws Exception {
        r1.acquire(THREE, "k").orElseThrow();
        r1.acquire(THREE, "k").orElseThrow();
        r1.acquire(THREE, "only-r1").orElseThrow();
        Permit live = r2.acquire(THREE, "k").orElseThrow();
        assertThat(r2.acquire(THREE, "k")).isEmpty();

        r1.store.close(); // dies: no release, no renewal
        Thread.sleep(3 * LEASE_TTL.toMillis());

        assertThat(redis.integer("EXISTS " + concKey("only-r1"))).as("a set only a dead replica used").isZero();
        assertThat(zcard(concKey("k"))).as("r2's lease, renewed for three TTLs").isEqualTo(1);
        assertThat(redis.integer("PTTL " + concKey("k"))).isBetween(1L, LEASE_TTL.toMillis());
        assertThat(r2.acquire(THREE, "k")).isPresent();
        assertThat(r2.acquire(THREE, "k")).isPresent();
        assertThat(r2.acquire(THREE, "k")).isEmpty();
        assertThat(r2.limits.leasesRenewed()).isGreaterThanOrEqualTo(3);
        assertThat(r2.limits.leasesLost()).isZero();
        live.release();
    }

    @Test
    void aHangingRedisCostsTheTimeoutAndLeasesLiveOnAfterIt() throws Exception {
        RateLimit limit = new RateLimit(LimitKey.SOURCE_IP, 10, Duration.ofSeconds(1), 10);
        r1.acquire(THREE, "k").orElseThrow();
        redis.pause();
        long start = System.nanoTime();
        CompletableFuture<Boolean> consumed = r1.limits.tryConsume("web", "rate", limit, "k");
        CompletableFuture<Optional<Permit>> acquired = r1.limits.tryAcquire("web", "conc", THREE, "k");
        assertThat(failureOf(consumed)).isEqualTo(ClusterStore.Failure.TIMEOUT);
        assertThat(failureOf(acquired)).isEqualTo(ClusterStore.Failure.TIMEOUT);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("about the timeout, %s", TIMEOUT)
                .isLessThan(Duration.ofSeconds(2));
        redis.resume();

        // The acquire that timed out runs now and adds a lease, taken back at once rather than a TTL later: by the
        // time a later acquire on the same connection is answered, Redis has run both.
        assertThat(r1.acquire(THREE, "other")).isPresent();
        assertThat(zcard(concKey("k"))).as("the lease of the acquire that timed out taken back").isEqualTo(1);
        assertThat(r1.consume(limit, "k")).isTrue();
        assertThat(r1.acquire(THREE, "k")).isPresent();
        assertThat(r1.limits.leasesHeld()).isEqualTo(3);
        assertThat(r1.store.inFlight()).isZero();
    }

    @Test
    void aRestartedRedisFailsCallsMeanwhileThenLiveLeasesAreAddedBackAndCountedLost() throws Exception {
        RateLimit limit = new RateLimit(LimitKey.SOURCE_IP, 1, Duration.ofMinutes(1), 1);
        r1.acquire(THREE, "k").orElseThrow();
        r1.acquire(THREE, "k").orElseThrow();
        assertThat(r1.consume(limit, "k")).isTrue();
        assertThat(r1.consume(limit, "k")).isFalse();

        redis.kill();
        await("the loss seen", () -> !r1.limits.connected());
        assertThat(failureOf(r1.limits.tryConsume("web", "rate", limit, "k")))
                .isIn(ClusterStore.Failure.UNAVAILABLE, ClusterStore.Failure.ERROR);
        assertThat(failureOf(r1.limits.tryAcquire("web", "conc", THREE, "k")))
                .isIn(ClusterStore.Failure.UNAVAILABLE, ClusterStore.Failure.ERROR);

        redis.restart();
        await("reconnected", () -> r1.limits.connected() && r2.limits.connected());
        await("the live leases added back", () -> zcard(concKey("k")) == 2);
        await("counted lost", () -> r1.limits.leasesLost() == 2);
        assertThat(r1.consume(limit, "k")).as("an empty Redis: a fresh bucket").isTrue();
        assertThat(r2.acquire(THREE, "k")).isPresent();
        assertThat(r2.acquire(THREE, "k")).as("the live leases count again").isEmpty();
    }

    @Test
    void hostileKeysAreBucketsOfTheirOwnAndLongOnesFit() throws Exception {
        RateLimit one = new RateLimit(LimitKey.SOURCE_IP, 1, Duration.ofMinutes(1), 1);
        String longKey = "k".repeat(200_000);
        List<String> keys = List.of("a b:c/ünï💥{x}%~", "a b", "a", "~x", "%7Ex", "a\uD800", "a?", "\r\n*1\r\n$4\r\nPING",
                longKey, longKey + "!");
        for (String key : keys) {
            assertThat(r1.consume(one, key)).as(key.length() > 100 ? "a long key" : key).isTrue();
        }
        for (String key : keys) {
            assertThat(r2.consume(one, key)).as(key.length() > 100 ? "a long key" : key).isFalse();
        }
        assertThat(r1.limits.tryConsume("a:b", "c", one, "k").get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(r1.limits.tryConsume("a", "b:c", one, "k").get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(redis.integer("DBSIZE")).isEqualTo(keys.size() + 2);
        assertThat(redis.integer("EXISTS " + rateKey(one, longKey))).isEqualTo(1);

        Permit permit = r1.acquire(THREE, longKey).orElseThrow();
        assertThat(zcard(concKey(longKey))).isEqualTo(1);
        permit.release();
    }

    @Test
    void leasesAndRenewalsAreMetered() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        r1.limits.bindTo(registry);
        Permit a = r1.acquire(THREE, "k").orElseThrow();
        r1.acquire(THREE, "k").orElseThrow();
        r1.acquire(THREE, "other").orElseThrow();
        assertThat(registry.get("portcullis.cluster.leases").gauge().value()).isEqualTo(3);
        long before = r1.limits.leasesRenewed();
        r1.limits.renewNow();
        await("renewed", () -> r1.limits.leasesRenewed() >= before + 3);
        assertThat(registry.get("portcullis.cluster.lease.renewals").tag("result", "renewed").functionCounter()
                .count()).isGreaterThanOrEqualTo(before + 3);
        assertThat(registry.get("portcullis.cluster.lease.renewals").tag("result", "lost").functionCounter()
                .count()).isZero();
        a.release();
        assertThat(registry.get("portcullis.cluster.leases").gauge().value()).isEqualTo(2);
    }
}
