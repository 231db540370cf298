package io.portcullis.policy;

import io.portcullis.policy.limit.LimitSettings;
import io.portcullis.policy.limit.OnStoreFailure;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Permit;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * A stepwise evaluation ({@link ListenerPolicy#evaluateStepwise}) stopped at an enforcing {@code scope: cluster}
 * limiter whose conditions hold: the caller asks the cluster store about {@link #key()} for the limiter
 * {@link #settings()} (listener {@link #listener()}, rule {@link #rule()}) and resumes with the answer:
 *
 * <ul>
 *   <li>{@link #passed(Permit)}: the store took a token, or gave a lease (which the evaluation then holds with the
 *       connection's other permits); evaluation goes on from the next rule;</li>
 *   <li>{@link #refused()}: the store's bucket is empty, or the key holds {@code max} leases: the limiter's reject
 *       verdict;</li>
 *   <li>{@link #storeFailed()}: the store did not answer; the limiter's {@code on-store-failure} applies:
 *       {@code local} counts the connection in the limiter's local state (the state a {@code scope: local} limiter
 *       of the same rule uses) and goes on or rejects as it says, {@code accept} goes on as if passed, {@code reject}
 *       rejects with a reason that says the cluster store was unavailable;</li>
 *   <li>{@link #abandon()}: the connection is gone; nothing more is evaluated.</li>
 * </ul>
 * Resuming gives the next {@link Evaluation}: a verdict, or the step of a later cluster limiter. Every step keeps the
 * snapshot of the policy it started on ({@link #policy()}), so a reload in between changes nothing for the connection.
 * The permits taken so far ({@link #held()}: local {@code concurrency-limit} slots and earlier leases) go into the
 * final verdict's permit, and are released by the evaluation when it ends in a reject or is abandoned.
 *
 * <p>Exactly one of {@code passed}, {@code refused}, {@code storeFailed} and {@code abandon} may be called, once,
 * from any thread (a store's callback thread, say); a second call throws {@link IllegalStateException}. Resuming
 * evaluates in memory and does not block.
 */
public final class ClusterStep implements Evaluation {

    private static final AtomicIntegerFieldUpdater<ClusterStep> RESUMED =
            AtomicIntegerFieldUpdater.newUpdater(ClusterStep.class, "resumed");

    private final ListenerPolicy policy;
    private final int ruleIndex;
    private final InspectRequest request;
    private final byte[] sourceAddress;
    private final ShadowObserver observer;
    private final Permit held;
    private final String key;
    @SuppressWarnings("unused") // through RESUMED
    private volatile int resumed;

    ClusterStep(ListenerPolicy policy, int ruleIndex, InspectRequest request, byte[] sourceAddress,
                ShadowObserver observer, Permit held, String key) {
        this.policy = policy;
        this.ruleIndex = ruleIndex;
        this.request = request;
        this.sourceAddress = sourceAddress;
        this.observer = observer;
        this.held = held;
        this.key = key;
    }

    /** The listener's rules as they were when the evaluation started; later steps evaluate against them too. */
    public ListenerPolicy policy() {
        return policy;
    }

    /** The limiter rule's position in {@link ListenerPolicy#rules()}. */
    public int ruleIndex() {
        return ruleIndex;
    }

    /** The listener's name. */
    public String listener() {
        return policy.listener();
    }

    /** The limiter rule's name. */
    public String rule() {
        return policy.ruleAt(ruleIndex).name();
    }

    /** The limiter's settings: a {@code RateLimit} or a {@code ConcurrencyLimit} with {@code scope: cluster}. */
    public LimitSettings settings() {
        return policy.limiterAt(ruleIndex).settings();
    }

    /** What {@link #storeFailed()} does. */
    public OnStoreFailure onStoreFailure() {
        return settings().onStoreFailure();
    }

    /** The connection's key as text for the store ({@link io.portcullis.policy.limit.LimitKey#text}). */
    public String key() {
        return key;
    }

    /** The connection being evaluated. */
    public InspectRequest request() {
        return request;
    }

    /**
     * What the connection holds so far: slots of earlier local {@code concurrency-limit} rules and leases of earlier
     * cluster ones ({@link Permit#NONE} for none). The evaluation releases them when it rejects or is abandoned;
     * a caller that must be sure they are released when the connection ends early may release them too (releasing
     * is idempotent).
     */
    public Permit held() {
        return held;
    }

    /**
     * How many enforcing {@code scope: cluster} limiters, this one included, the connection may still have to wait
     * for: the rules from this one on (they may not all match). For deadlines.
     */
    public int clusterLimitersAhead() {
        return policy.clusterLimitersFrom(ruleIndex);
    }

    /**
     * The longest {@code timeout} of the enforcing {@code pend} rules after this one; empty when none of them has
     * one. With the listener's own inspect timeout (which a pend rule without a timeout, and a {@code default: pend},
     * use) this bounds how long a decision after this step may take.
     */
    public Optional<Duration> longestLaterPendTimeout() {
        return policy.longestPendTimeoutAfter(ruleIndex);
    }

    /**
     * The store admitted the connection: a rate limit's token was taken ({@code lease} is {@link Permit#NONE}), or
     * a concurrency limit's {@code lease} was given, which the connection then holds (released with the other
     * permits when the evaluation ends in a reject; otherwise part of the verdict's permit).
     *
     * @return the evaluation from the next rule on
     */
    public Evaluation passed(Permit lease) {
        Objects.requireNonNull(lease, "lease");
        take();
        return policy.resume(ruleIndex, request, sourceAddress, observer, held, lease);
    }

    /** The store refused the connection: the limiter's reject verdict; {@link #held()} is released. */
    public Evaluation refused() {
        take();
        return policy.refuse(ruleIndex, held);
    }

    /** The store did not answer: the limiter's {@code on-store-failure} decides (see the class comment). */
    public Evaluation storeFailed() {
        take();
        return policy.storeFailed(ruleIndex, request, sourceAddress, observer, held);
    }

    /** The connection is gone before the store answered: {@link #held()} is released, nothing more is evaluated. */
    public void abandon() {
        take();
        held.release();
    }

    private void take() {
        if (!RESUMED.compareAndSet(this, 0, 1)) {
            throw new IllegalStateException("cluster step of rule '" + rule() + "' of listener '" + listener()
                    + "' was resumed already");
        }
    }

    @Override
    public String toString() {
        return "ClusterStep[" + listener() + "/" + rule() + ", key=" + key + ", " + settings() + "]";
    }
}
