package io.portcullis.policy.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.TimeMeter;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Token buckets of one {@code rate-limit}, one per key (Bucket4j local lock-free buckets), kept in a
 * registry across reloads. A bucket untouched for {@link RateLimit#refillTime()} expires — by then it
 * would be full again, so forgetting it changes nothing. At most {@code maxKeys} keys are tracked, and a
 * tracked key is never evicted to make room: past the cap a connection with a new key is refused (and
 * counted) until idle keys expire. Eviction would hand the evicted key a full bucket, so a flood of fresh
 * keys could reset established clients' buckets, its sender's own included.
 *
 * <p>Caffeine keeps the table: expiry runs on the calling thread in small steps, with no thread pool.
 * At the cap no insert runs that maintenance, so the limiter runs it itself, at most every
 * {@value #CLEAN_UP_EVERY_MILLIS} ms, on one thread. The cap is checked before inserting, so concurrent
 * inserts may pass it by a few.
 */
final class RateState {

    /** How often, at most, a limiter at its cap sweeps out expired keys itself. */
    static final long CLEAN_UP_EVERY_MILLIS = 100;

    private static final long CLEAN_UP_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(CLEAN_UP_EVERY_MILLIS);

    private final RateLimit settings;
    private final Cache<Object, Bucket> buckets;
    private final TimeMeter timeMeter;
    private final Function<Object, Bucket> newBucket = key -> newBucket();
    private final LongSupplier nanoTime;
    private final int maxKeys;
    private final AtomicLong nextCleanUp;
    private final LongAdder refusedAtKeyCap = new LongAdder();
    private final LongAdder registryRefusedAtKeyCap;

    /** @param registryRefusedAtKeyCap the registry's count over all its limiters, bumped with this one's */
    RateState(RateLimit settings, LongSupplier nanoTime, int maxKeys, LongAdder registryRefusedAtKeyCap) {
        this.settings = settings;
        this.nanoTime = nanoTime;
        this.maxKeys = maxKeys;
        this.registryRefusedAtKeyCap = registryRefusedAtKeyCap;
        this.nextCleanUp = new AtomicLong(nanoTime.getAsLong());
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

    /**
     * Takes a token for {@code key}: {@link Admission.Passed}, {@code empty} when its bucket is empty, or
     * {@code atKeyCap} when the key is new and the limiter tracks its cap of keys.
     */
    Admission tryConsume(Object key, Admission.Refused empty, Admission.Refused atKeyCap) {
        Bucket bucket = buckets.getIfPresent(key);
        if (bucket == null) {
            if (full()) {
                refusedAtKeyCap.increment();
                registryRefusedAtKeyCap.increment();
                return atKeyCap;
            }
            bucket = buckets.get(key, newBucket);
        }
        return bucket.tryConsume(1) ? Admission.Passed.INSTANCE : empty;
    }

    private boolean full() {
        if (buckets.estimatedSize() < maxKeys) {
            return false;
        }
        // expired buckets count until maintenance removes them, and at the cap no insert triggers it
        long now = nanoTime.getAsLong();
        long due = nextCleanUp.get();
        if (now - due < 0 || !nextCleanUp.compareAndSet(due, now + CLEAN_UP_EVERY_NANOS)) {
            return true;
        }
        buckets.cleanUp();
        return buckets.estimatedSize() >= maxKeys;
    }

    long trackedKeys() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }

    long refusedAtKeyCap() {
        return refusedAtKeyCap.sum();
    }

    int maxKeys() {
        return maxKeys;
    }
}
