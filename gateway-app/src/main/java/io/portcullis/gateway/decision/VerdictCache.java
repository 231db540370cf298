package io.portcullis.gateway.decision;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.portcullis.gateway.decision.DecisionServiceSettings.CacheSettings;
import java.time.Duration;
import java.util.Optional;

/**
 * The answers of one decision service by {@link DecisionKey}, in two bounded Caffeine caches:
 *
 * <ul>
 *   <li><em>fresh</em> answers, each kept for its own TTL (the answer's {@code ttl}, else the configured
 *       one; zero is not kept); only when the service has a {@code cache};</li>
 *   <li>the <em>last known</em> answer per key, however old, for {@code on-failure: stale}; only then.</li>
 * </ul>
 * Thread-safe; maintenance runs on the calling thread (no background executor), and is small.
 */
final class VerdictCache {

    /** Last-known answers kept for {@code stale} when the service has no {@code cache} of its own. */
    static final int DEFAULT_LAST_KNOWN_ENTRIES = 10_000;

    private final Optional<CacheSettings> settings;
    private final Cache<DecisionKey, Fresh> fresh;
    private final Cache<DecisionKey, Decision> lastKnown;

    VerdictCache(Optional<CacheSettings> settings, boolean keepLastKnown) {
        this.settings = settings;
        this.fresh = settings.map(s -> Caffeine.newBuilder()
                .maximumSize(s.maxEntries())
                .expireAfter(new PerEntryTtl())
                .executor(Runnable::run)
                .<DecisionKey, Fresh>build()).orElse(null);
        this.lastKnown = keepLastKnown ? Caffeine.newBuilder()
                .maximumSize(settings.map(CacheSettings::maxEntries).orElse(DEFAULT_LAST_KNOWN_ENTRIES))
                .executor(Runnable::run)
                .<DecisionKey, Decision>build() : null;
    }

    /** A fresh answer for {@code key}, when one is cached and has not expired. */
    Optional<Decision> fresh(DecisionKey key) {
        if (fresh == null) {
            return Optional.empty();
        }
        Fresh f = fresh.getIfPresent(key);
        return f == null ? Optional.empty() : Optional.of(f.decision);
    }

    /** The last answer the service gave for {@code key}, however old (for {@code on-failure: stale}). */
    Optional<Decision> lastKnown(DecisionKey key) {
        return lastKnown == null ? Optional.empty() : Optional.ofNullable(lastKnown.getIfPresent(key));
    }

    /** Remembers an answer: fresh for its TTL when there is one, and as the last known. */
    void remember(DecisionKey key, Decision decision) {
        if (lastKnown != null) {
            lastKnown.put(key, decision);
        }
        if (fresh != null) {
            Duration ttl = decision.ttl().orElse(settings.get().ttl());
            if (ttl.isZero() || ttl.isNegative()) {
                fresh.invalidate(key);
            } else {
                fresh.put(key, new Fresh(decision, ttl.toNanos()));
            }
        }
    }

    /** Entries held now (estimates), for tests. */
    long freshSize() {
        return fresh == null ? 0 : fresh.estimatedSize();
    }

    private record Fresh(Decision decision, long ttlNanos) {
    }

    private static final class PerEntryTtl implements Expiry<DecisionKey, Fresh> {
        @Override
        public long expireAfterCreate(DecisionKey key, Fresh value, long currentTime) {
            return value.ttlNanos;
        }

        @Override
        public long expireAfterUpdate(DecisionKey key, Fresh value, long currentTime, long currentDuration) {
            return value.ttlNanos;
        }

        @Override
        public long expireAfterRead(DecisionKey key, Fresh value, long currentTime, long currentDuration) {
            return currentDuration;
        }
    }
}
