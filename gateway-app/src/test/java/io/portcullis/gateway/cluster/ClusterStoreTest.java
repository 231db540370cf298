package io.portcullis.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.gateway.testing.Peers;
import io.portcullis.gateway.testing.RedisServer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The store's bounds against a real redis-server: down at start, hanging, restarted, too many commands. */
class ClusterStoreTest {

    private static String text(CompletableFuture<String> f) throws Exception {
        return f.get(5, TimeUnit.SECONDS);
    }

    private static ClusterStore.Failure failureOf(CompletableFuture<?> f) {
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(StoreUnavailableException.class);
        return ((StoreUnavailableException) f.handle((v, e) -> e).join()).failure();
    }

    private static void awaitConnected(ClusterStore store) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!store.connected()) {
            assertThat(System.nanoTime()).as("connected within 15 s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    @Test
    void commandsGoThroughAndTheReplicaIsNamed() throws Exception {
        try (RedisServer redis = RedisServer.start();
             ClusterStore store = new ClusterStore("r1", redis.url(), Duration.ofMillis(500), 2, 100,
                     Duration.ofSeconds(15))) {
            awaitConnected(store);
            assertThat(text(store.call(c -> c.set("k", "v")))).isEqualTo("OK");
            assertThat(text(store.call(c -> c.get("k")))).isEqualTo("v");
            assertThat(store.replicaId()).isEqualTo("r1");
            assertThat(store.shownUri()).isEqualTo("127.0.0.1:" + redis.port());
            assertThat(store.inFlight()).isZero();
        }
    }

    @Test
    void aRedisDownAtStartFailsFastAndIsReachedOnceItComes() throws Exception {
        int port = Peers.freePort();
        try (ClusterStore store = new ClusterStore("r1", "redis://127.0.0.1:" + port, Duration.ofMillis(200), 1, 100,
                Duration.ofSeconds(15))) {
            assertThat(store.connected()).isFalse();
            assertThat(failureOf(store.call(c -> c.get("k")))).isEqualTo(ClusterStore.Failure.UNAVAILABLE);
            assertThat(store.failures(ClusterStore.Failure.UNAVAILABLE)).isEqualTo(1);
            try (RedisServer redis = RedisServer.startOn(port)) {
                awaitConnected(store);
                assertThat(text(store.call(c -> c.ping()))).isEqualTo("PONG");
            }
        }
    }

    @Test
    void aHangingRedisCostsTheTimeoutAndMaxInFlightBoundsWhatWaits() throws Exception {
        try (RedisServer redis = RedisServer.start();
             ClusterStore store = new ClusterStore("r1", redis.url(), Duration.ofMillis(300), 1, 2,
                     Duration.ofSeconds(15))) {
            awaitConnected(store);
            redis.pause();
            CompletableFuture<String> first = store.call(c -> c.get("a"));
            CompletableFuture<String> second = store.call(c -> c.get("b"));
            CompletableFuture<String> third = store.call(c -> c.get("c"));
            assertThat(third).isCompletedExceptionally();
            assertThat(failureOf(third)).isEqualTo(ClusterStore.Failure.OVERLOADED);
            assertThat(failureOf(first)).isEqualTo(ClusterStore.Failure.TIMEOUT);
            assertThat(failureOf(second)).isEqualTo(ClusterStore.Failure.TIMEOUT);
            assertThat(store.inFlight()).isZero();
            redis.resume();
            assertThat(text(store.call(c -> c.ping()))).isEqualTo("PONG");
        }
    }

    @Test
    void aRestartedRedisIsReconnectedAndCommandsFailFastMeanwhile() throws Exception {
        try (RedisServer redis = RedisServer.start();
             ClusterStore store = new ClusterStore("r1", redis.url(), Duration.ofMillis(300), 1, 100,
                     Duration.ofSeconds(15))) {
            awaitConnected(store);
            redis.kill();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (store.connected()) {
                assertThat(System.nanoTime()).as("disconnect seen").isLessThan(deadline);
                Thread.sleep(10);
            }
            ClusterStore.Failure down = failureOf(store.call(c -> c.get("k")));
            assertThat(down).isIn(ClusterStore.Failure.UNAVAILABLE, ClusterStore.Failure.ERROR);
            redis.restart();
            awaitConnected(store);
            assertThat(text(store.call(c -> c.ping()))).isEqualTo("PONG");
        }
    }
}
