package io.portcullis.policy.limit;

import io.portcullis.policy.model.Permit;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * One open connection's slot in a {@code concurrency-limit}. Released at most once: the first
 * {@link #release()} decrements the key's counter (removing the key when it reaches zero), later
 * calls do nothing. Any thread; lock-free.
 */
public final class ConcurrencyPermit implements Permit, Admission {

    private static final AtomicIntegerFieldUpdater<ConcurrencyPermit> RELEASED =
            AtomicIntegerFieldUpdater.newUpdater(ConcurrencyPermit.class, "released");

    private final ConcurrencyState state;
    private final Object key;
    private final ConcurrencyState.Counter counter;
    private volatile int released;

    ConcurrencyPermit(ConcurrencyState state, Object key, ConcurrencyState.Counter counter) {
        this.state = state;
        this.key = key;
        this.counter = counter;
    }

    @Override
    public void release() {
        if (RELEASED.compareAndSet(this, 0, 1)) {
            state.release(key, counter);
        }
    }

    /** Whether {@link #release()} has been called. */
    public boolean isReleased() {
        return released != 0;
    }

    @Override
    public String toString() {
        return "ConcurrencyPermit[" + (isReleased() ? "released" : "held") + "]";
    }
}
