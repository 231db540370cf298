package io.portcullis.gateway.cluster;

import io.portcullis.gateway.testing.RedisServer;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.limit.RateLimit;
import io.portcullis.policy.model.Permit;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Not a test: the latency that cluster-scope limits add to a connection's admission, against a redis-server on
 * loopback, with the gateway's defaults (timeout 100 ms, two connections, lease-ttl 15 s). Sequential calls (one in
 * flight), over 1,000 keys; a warm-up, then {@value #CALLS} measured calls each. PING through the store is the floor.
 *
 * <pre>
 * mvn -o -q test-compile dependency:build-classpath -pl gateway-app -am -Dmdep.outputFile=/tmp/cp.txt
 * java -cp gateway-app/target/test-classes:gateway-app/target/classes:$(cat /tmp/cp.txt) \
 *     io.portcullis.gateway.cluster.ClusterLimitsLatency
 * </pre>
 */
public final class ClusterLimitsLatency {

    private static final int WARM_UP = 10_000;
    private static final int CALLS = 20_000;
    private static final int KEYS = 1_000;

    private interface Call {
        void run(int i) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        RateLimit rate = new RateLimit(LimitKey.SOURCE_IP, 1_000_000, Duration.ofSeconds(1), 1_000_000);
        ConcurrencyLimit concurrency = new ConcurrencyLimit(LimitKey.SOURCE_IP, 1_000);
        String[] keys = new String[KEYS];
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "10.0." + (i >> 8) + "." + (i & 0xFF);
        }
        try (RedisServer redis = RedisServer.start();
             ClusterStore store = new ClusterStore("bench", redis.url(), Duration.ofMillis(100), 2, 10_000,
                     Duration.ofSeconds(15));
             RedisClusterLimits limits = new RedisClusterLimits(store)) {
            while (!store.connected() || !limits.connected()) {
                Thread.sleep(10);
            }
            measure("PING (the floor)", i -> store.call(c -> c.ping()).get(1, TimeUnit.SECONDS));
            measure("tryConsume", i -> limits.tryConsume("web", "rate", rate, keys[i % KEYS]).get(1, TimeUnit.SECONDS));
            measure("tryAcquire + release", i -> {
                Optional<Permit> permit = limits.tryAcquire("web", "conc", concurrency, keys[i % KEYS])
                        .get(1, TimeUnit.SECONDS);
                permit.orElseThrow().release();
            });
            System.out.printf("store failures: timeout %d, unavailable %d, overloaded %d, error %d%n",
                    store.failures(ClusterStore.Failure.TIMEOUT), store.failures(ClusterStore.Failure.UNAVAILABLE),
                    store.failures(ClusterStore.Failure.OVERLOADED), store.failures(ClusterStore.Failure.ERROR));
        }
    }

    private static void measure(String name, Call call) throws Exception {
        for (int i = 0; i < WARM_UP; i++) {
            call.run(i);
        }
        long[] nanos = new long[CALLS];
        for (int i = 0; i < CALLS; i++) {
            long start = System.nanoTime();
            call.run(i);
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        System.out.printf("%-22s n=%d  p50 %6.1f us  p90 %6.1f us  p99 %6.1f us  p99.9 %7.1f us  max %7.1f us%n",
                name, CALLS, at(nanos, 0.50), at(nanos, 0.90), at(nanos, 0.99), at(nanos, 0.999),
                nanos[CALLS - 1] / 1e3);
    }

    private static double at(long[] sorted, double quantile) {
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] / 1e3;
    }
}
