package io.portcullis.policy.limit;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Open-connection counters of one {@code concurrency-limit}, one per key, kept in a registry across
 * reloads. A key is tracked only while it has open connections: the release that brings its counter
 * to zero removes it. At most {@code maxKeys} keys are tracked; a connection with a new key past that
 * is refused and counted, and tracked keys keep their counts (the cap is checked before inserting, so
 * concurrent inserts may pass it by a few).
 *
 * <p>Lock-free except for ConcurrentHashMap's insertion of a new key (one bin).
 */
final class ConcurrencyState {

    /** A key's count of open connections; {@link #RETIRED} once it has been taken out of the map. */
    static final class Counter extends AtomicInteger {

        private static final long serialVersionUID = 1L;

        Counter(int initial) {
            super(initial);
        }
    }

    private static final int RETIRED = -1;

    private final ConcurrentHashMap<Object, Counter> counters = new ConcurrentHashMap<>();
    private final int maxKeys;
    private final LongAdder refusedAtKeyCap = new LongAdder();
    private final LongAdder registryRefusedAtKeyCap;

    /** @param registryRefusedAtKeyCap the registry's count over all its limiters, bumped with this one's */
    ConcurrencyState(int maxKeys, LongAdder registryRefusedAtKeyCap) {
        this.maxKeys = maxKeys;
        this.registryRefusedAtKeyCap = registryRefusedAtKeyCap;
    }

    /**
     * A permit for {@code key}, or {@code atMax} / {@code tooManyKeys}. Written without exceptions or
     * locks: a counter that dropped to zero is retired and replaced, never revived.
     */
    Admission tryAcquire(Object key, int max, Admission.Refused atMax, Admission.Refused tooManyKeys) {
        for (;;) {
            Counter counter = counters.get(key);
            if (counter == null) {
                if (counters.size() >= maxKeys) {
                    refusedAtKeyCap.increment();
                    registryRefusedAtKeyCap.increment();
                    return tooManyKeys;
                }
                Counter fresh = new Counter(1);
                counter = counters.putIfAbsent(key, fresh);
                if (counter == null) {
                    return new ConcurrencyPermit(this, key, fresh);
                }
            }
            int count = counter.get();
            while (count > 0) {
                if (count >= max) {
                    return atMax;
                }
                if (counter.compareAndSet(count, count + 1)) {
                    return new ConcurrencyPermit(this, key, counter);
                }
                count = counter.get();
            }
            // zero (its last permit is being released) or retired: finish retiring it, then start afresh
            if (count == 0) {
                counter.compareAndSet(0, RETIRED);
            }
            counters.remove(key, counter);
        }
    }

    void release(Object key, Counter counter) {
        if (counter.decrementAndGet() == 0 && counter.compareAndSet(0, RETIRED)) {
            counters.remove(key, counter);
        }
    }

    long trackedKeys() {
        return counters.mappingCount();
    }

    int maxKeys() {
        return maxKeys;
    }

    long refusedAtKeyCap() {
        return refusedAtKeyCap.sum();
    }
}
