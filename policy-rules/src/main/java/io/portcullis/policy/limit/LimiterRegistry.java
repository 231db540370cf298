package io.portcullis.policy.limit;

import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Limiter state — token buckets and open-connection counters — kept outside compiled policies, so
 * that it survives a reload. Pass the same registry to every {@code Policy.load}/{@code parse} of a
 * gateway; a recompiled rule then finds its state again when nothing that shapes the state changed:
 *
 * <ul>
 *   <li>a {@code rate-limit} keeps its buckets while listener, rule name, key, rate and burst are the
 *       same; any change starts with fresh (full) buckets;</li>
 *   <li>a {@code concurrency-limit} keeps its counters while listener, rule name and key are the same.
 *       A changed {@code max} keeps them too: the counters are connections that are open now, and
 *       the new bound applies to them at once.</li>
 * </ul>
 * The mode ({@code shadow} or not) is not part of the identity, so a rule switched from shadow to
 * enforcing keeps what its shadow run counted; nor are {@code scope} and {@code on-store-failure}: a
 * {@code scope: cluster} limiter keeps local state too, which it counts in when the store fails
 * ({@code on-store-failure: local}), in shadow mode, and when evaluated without a store.
 *
 * <p>State of rules that are gone is dropped by {@link #retainOnly}, which {@code PolicyEngine}
 * calls when it puts a policy in force. Old policies still evaluating at that moment keep their own
 * references, so nothing fails; their permits release into the dropped counters.
 *
 * <p>Every state is bounded to {@link #maxKeysPerLimiter()} keys. At that cap a connection whose key
 * is not tracked is refused (with a reason that names the cap) and counted ({@link #refusedAtKeyCap()});
 * tracked keys keep their state, so a flood of fresh keys cannot evict or reset anyone's limit. Keys
 * leave when idle: a bucket once it would be full again, a counter when its last connection ends.
 * Thread-safe; the methods that create or drop state run at compile and reload time, not on the event loop.
 */
public final class LimiterRegistry {

    /** Keys one limiter tracks at most, unless the registry is built with another bound. */
    public static final int DEFAULT_MAX_KEYS_PER_LIMITER = 100_000;

    /** What a state is identified by; see the class comment for what is in {@code shape}. */
    private record StateId(String listener, String rule, Object shape) {
    }

    private final LongSupplier nanoTime;
    private final int maxKeysPerLimiter;
    private final ConcurrentHashMap<StateId, Object> states = new ConcurrentHashMap<>();
    private final LongAdder refusedAtKeyCap = new LongAdder();

    /** A registry on the system's monotonic clock with {@value #DEFAULT_MAX_KEYS_PER_LIMITER} keys per limiter. */
    public LimiterRegistry() {
        this(System::nanoTime, DEFAULT_MAX_KEYS_PER_LIMITER);
    }

    /**
     * @param nanoTime          a monotonic clock in nanoseconds (tests pass a controllable one); it drives
     *                          both token refill and the expiry of idle keys
     * @param maxKeysPerLimiter keys tracked per limiter at most; past it connections with a new key are
     *                          refused
     */
    public LimiterRegistry(LongSupplier nanoTime, int maxKeysPerLimiter) {
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        if (maxKeysPerLimiter < 1) {
            throw new IllegalArgumentException("maxKeysPerLimiter must be positive: " + maxKeysPerLimiter);
        }
        this.maxKeysPerLimiter = maxKeysPerLimiter;
    }

    /** The limiter of rule {@code rule} of {@code listener}, on its existing state if it has one. */
    public Limiter limiter(String listener, String rule, LimitSettings settings) {
        if (settings instanceof RateLimit rate) {
            RateState state = (RateState) states.computeIfAbsent(
                    new StateId(listener, rule, new RateShape(rate.key(), rate.tokens(), rate.period(), rate.burst())),
                    id -> new RateState(rate, nanoTime, maxKeysPerLimiter, refusedAtKeyCap));
            return new RateLimiter(rule, rate, state);
        }
        ConcurrencyLimit concurrency = (ConcurrencyLimit) settings;
        ConcurrencyState state = (ConcurrencyState) states.computeIfAbsent(
                new StateId(listener, rule, new ConcurrencyShape(concurrency.key())),
                id -> new ConcurrencyState(maxKeysPerLimiter, refusedAtKeyCap));
        return new ConcurrencyLimiter(rule, concurrency, state);
    }

    /** The part of a rate limit's settings that its buckets depend on (not its scope or on-store-failure). */
    private record RateShape(LimitKey key, long tokens, java.time.Duration period, long burst) {
    }

    /** The part of a concurrency limit's settings that its counters depend on. */
    private record ConcurrencyShape(LimitKey key) {
    }

    /** Drops every state that none of {@code inUse} works on. Call it when a policy is put in force. */
    public void retainOnly(Collection<? extends Limiter> inUse) {
        Set<Object> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Limiter limiter : inUse) {
            kept.add(limiter instanceof RateLimiter rate ? rate.state() : ((ConcurrencyLimiter) limiter).state());
        }
        states.values().removeIf(state -> !kept.contains(state));
    }

    /** Number of limiter states held (one per limiter rule of the policies compiled since the last retain). */
    public int size() {
        return states.size();
    }

    public int maxKeysPerLimiter() {
        return maxKeysPerLimiter;
    }

    /**
     * Connections refused by any limiter of this registry because their key was new while the limiter
     * tracked {@link #maxKeysPerLimiter()} keys; never decreases (states dropped since still count). Any thread.
     */
    public long refusedAtKeyCap() {
        return refusedAtKeyCap.sum();
    }

    @Override
    public String toString() {
        return "LimiterRegistry[states=" + states.size() + ", maxKeysPerLimiter=" + maxKeysPerLimiter + "]";
    }
}
