package io.portcullis.gateway.cluster;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.AsyncProxyManager;
import io.github.bucket4j.distributed.proxy.RemoteAsyncBucketBuilder;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.portcullis.policy.limit.RateLimit;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Token buckets in Redis, shared by the replicas: Bucket4j's Lettuce proxy manager (compare-and-swap: a GET, then a
 * script that writes the new state if nobody did meanwhile, retried on a conflict), asynchronous, on a connection of
 * the store with byte-array values. A bucket is the local one's ({@code RateState}): {@code burst} tokens, refilled
 * greedily at {@code tokens} per {@code period}, full when new; its key expires when it would be full again, so an idle
 * key costs Redis nothing. Each call is one operation under the store's in-flight bound, and all its round trips
 * together under the store's timeout (Bucket4j's request timeout). No state per key here; bucket configurations are
 * kept per {@link RateLimit}, at most {@value #MAX_CONFIGURATIONS}. Thread-safe.
 */
final class RedisTokenBuckets {

    /** Distinct rate limits whose bucket configuration is kept; rules are few, reloads may leave old ones. */
    static final int MAX_CONFIGURATIONS = 1024;

    /** A rate limit's bucket configuration and the key part that names it. */
    record Shape(BucketConfiguration configuration, String keyPart) {
    }

    private static final Function<RateLimit, Shape> NEW_SHAPE = settings -> new Shape(
            BucketConfiguration.builder()
                    .addLimit(limit -> limit.capacity(settings.burst())
                            .refillGreedy(settings.tokens(), settings.period())
                            .initialTokens(settings.burst()))
                    .build(),
            RedisKeys.shape(settings));

    private final ClusterStore store;
    private final ClusterStore.Connection<String, byte[]> connection;
    private final Cache<RateLimit, Shape> shapes = Caffeine.newBuilder()
            .maximumSize(MAX_CONFIGURATIONS).executor(Runnable::run).build();
    private volatile RemoteAsyncBucketBuilder<String> buckets;

    RedisTokenBuckets(ClusterStore store) {
        this.store = store;
        this.connection = store.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
    }

    /** Whether its connection is up now. */
    boolean connected() {
        return connection.connected();
    }

    /** The shape of {@code settings}: its bucket configuration and its key part. Any thread. */
    Shape shape(RateLimit settings) {
        return shapes.get(settings, NEW_SHAPE);
    }

    /**
     * Takes a token from the bucket at {@code redisKey}. Fails with {@link StoreUnavailableException} as the store's
     * commands do. Any thread; completes on a store thread.
     */
    CompletableFuture<Boolean> tryConsume(String redisKey, Shape shape) {
        RemoteAsyncBucketBuilder<String> builder = buckets();
        if (builder == null || !connection.connected()) {
            return store.bounded(() -> CompletableFuture.failedFuture(
                    new RedisConnectionException("no connection to Redis at " + store.shownUri())));
        }
        return store.bounded(() -> builder.build(redisKey, shape.configuration()).tryConsume(1)
                .exceptionallyCompose(RedisTokenBuckets::timeoutTyped));
    }

    /** Bucket4j's own timeout (its request timeout, over all the round trips) is the store's TIMEOUT. */
    private static CompletableFuture<Boolean> timeoutTyped(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof io.github.bucket4j.TimeoutException) {
            return CompletableFuture.failedFuture(new TimeoutException(cause.getMessage()));
        }
        return CompletableFuture.failedFuture(cause);
    }

    /** The proxy manager, made once the connection first came up (Lettuce keeps that connection up); else null. */
    private RemoteAsyncBucketBuilder<String> buckets() {
        RemoteAsyncBucketBuilder<String> builder = buckets;
        if (builder != null) {
            return builder;
        }
        StatefulRedisConnection<String, byte[]> c = connection.connectionOrNull();
        if (c == null) {
            return null;
        }
        synchronized (this) {
            if (buckets == null) {
                AsyncProxyManager<String> manager = Bucket4jLettuce.casBasedBuilder(c)
                        .requestTimeout(store.timeout())
                        // an untouched bucket is full again after this: the key is not needed anymore
                        .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(
                                Duration.ZERO))
                        .build()
                        .asAsync();
                buckets = manager.builder();
            }
            return buckets;
        }
    }
}
