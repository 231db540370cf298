package io.portcullis.policy.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.TimeMeter;

import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Token buckets of one {@code rate-limit}, one per key (Bucket4j local lock-free buckets), kept in a
 * registry across reloads. Bounded by Caffeine: a bucket untouched for {@link RateLimit#refillTime()}
 * expires — by then it would be full again, so forgetting it changes nothing — and at most
 * {@code maxKeys} buckets are kept (past that the least valuable are evicted, and an evicted key
 * starts again with a full bucket). Cache maintenance runs on the calling thread in small, bounded
 * steps, so no thread pool is involved.
 */
final class RateState {

    private final RateLimit settings;
    private final Cache<Object, Bucket> buckets;
    private final TimeMeter timeMeter;
    private final Function<Object, Bucket> newBucket = key -> newBucket();

    RateState(RateLimit settings, LongSupplier nanoTime, int maxKeys) {
        this.settings = settings;
        this.timeMeter = new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return nanoTime.getAsLong();
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        };
        this.buckets = Caffeine.newBuilder()
                .maximumSize(maxKeys)
                .expireAfterAccess(settings.refillTime())
                .ticker(nanoTime::getAsLong)
                .executor(Runnable::run)
                .build();
    }

    private Bucket newBucket() {
        return Bucket.builder()
                .addLimit(limit -> limit.capacity(settings.burst())
                        .refillGreedy(settings.tokens(), settings.period())
                        .initialTokens(settings.burst()))
                .withCustomTimePrecision(timeMeter)
                .build();
    }

    /** Takes a token for {@code key}; false when its bucket is empty. */
    boolean tryConsume(Object key) {
        Bucket bucket = buckets.getIfPresent(key);
        if (bucket == null) {
            bucket = buckets.get(key, newBucket);
        }
        return bucket.tryConsume(1);
    }

    long trackedKeys() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }
}
