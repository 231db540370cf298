package io.portcullis.policy;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Evaluates requests against the current {@link Policy}, which can be replaced at any time (reload).
 *
 * <p>The policy is held in a volatile field: {@link #evaluate} reads it once and evaluates against
 * that snapshot, so a request is never judged by half of an old and half of a new policy, and reads
 * take no lock. Evaluation: any thread, typically the connection's event loop. {@link #replace}: any
 * thread; reloads are serialized.
 *
 * <p>The verdict may hold a {@link Verdict#permit() permit} (from {@code concurrency-limit} rules):
 * the caller keeps it with the connection and releases it exactly when the connection ends.
 */
public final class PolicyEngine {

    /** Rule name reported for a connection on a listener that has no section in the policy. */
    public static final String NO_POLICY_RULE = "no-policy";

    private static final Verdict NO_POLICY = new Verdict(InspectAction.REJECT, NO_POLICY_RULE);

    private final ShadowObserver shadowObserver;
    private volatile Policy current;

    /** An engine whose shadow rules report nowhere. */
    public PolicyEngine(Policy initial) {
        this(initial, ShadowObserver.NONE);
    }

    /** @param shadowObserver receives what shadow rules would do, on the evaluating thread */
    public PolicyEngine(Policy initial, ShadowObserver shadowObserver) {
        this.shadowObserver = Objects.requireNonNull(shadowObserver, "shadowObserver");
        this.current = Objects.requireNonNull(initial, "initial");
        initial.limiterRegistry().retainOnly(initial.limiters());
    }

    /** The policy in force now. */
    public Policy current() {
        return current;
    }

    /**
     * Puts {@code next} in force for all evaluations that start after this call (atomic swap), then
     * drops the limiter state in {@code next}'s registry that none of its rules uses any more.
     */
    public synchronized void replace(Policy next) {
        Objects.requireNonNull(next, "next");
        this.current = next;
        next.limiterRegistry().retainOnly(next.limiters());
    }

    /**
     * The verdict of the current policy for the request's listener; {@code REJECT} with rule
     * {@value #NO_POLICY_RULE} when the policy has no section for that listener. Shadow rules report
     * to the engine's observer. Does not block or lock.
     */
    public Verdict evaluate(InspectRequest request) {
        return evaluate(request, shadowObserver);
    }

    /**
     * What the current policy says now of a connection let through before: the rejecting rule's name, or empty to
     * leave it alone ({@link ListenerPolicy#recheck}); {@value #NO_POLICY_RULE} when the policy has no section for
     * the listener any more, as a new connection would get. Does not block or lock.
     */
    public Optional<String> recheck(InspectRequest request) {
        ListenerPolicy listener = current.listenerOrNull(request.listener());
        return listener == null ? Optional.of(NO_POLICY_RULE) : listener.recheck(request);
    }

    /**
     * The current policy's rules for {@code listener}, read once: a caller that evaluates one connection in steps
     * ({@link ListenerPolicy#evaluateStepwise}, with {@link #shadowObserver()}) evaluates every step against this
     * snapshot, whatever reloads happen meanwhile. When the policy has no section for the listener, a section without
     * rules that rejects every connection with rule {@value #NO_POLICY_RULE}, as {@link #evaluate} does. Does not
     * block or lock; allocates only for a listener without a section.
     */
    public ListenerPolicy listenerPolicy(String listener) {
        ListenerPolicy policy = current.listenerOrNull(listener);
        return policy != null ? policy : new ListenerPolicy(listener, List.of(), NO_POLICY);
    }

    /** The observer this engine's evaluations report shadow rules to. */
    public ShadowObserver shadowObserver() {
        return shadowObserver;
    }

    /** As {@link #evaluate(InspectRequest)}, reporting shadow rules to {@code observer}. */
    public Verdict evaluate(InspectRequest request, ShadowObserver observer) {
        ListenerPolicy listener = current.listenerOrNull(request.listener());
        return listener == null ? NO_POLICY : listener.evaluate(request, observer);
    }
}
