package io.portcullis.policy;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

import java.util.Objects;

/**
 * Evaluates requests against the current {@link Policy}, which can be replaced at any time (reload).
 *
 * <p>The policy is held in a volatile field: {@link #evaluate} reads it once and evaluates against
 * that snapshot, so a request is never judged by half of an old and half of a new policy, and reads
 * take no lock. All methods: any thread.
 */
public final class PolicyEngine {

    /** Rule name reported for a connection on a listener that has no section in the policy. */
    public static final String NO_POLICY_RULE = "no-policy";

    private static final Verdict NO_POLICY = new Verdict(InspectAction.REJECT, NO_POLICY_RULE);

    private volatile Policy current;

    public PolicyEngine(Policy initial) {
        this.current = Objects.requireNonNull(initial, "initial");
    }

    /** The policy in force now. */
    public Policy current() {
        return current;
    }

    /** Puts {@code next} in force for all evaluations that start after this call (atomic swap). */
    public void replace(Policy next) {
        this.current = Objects.requireNonNull(next, "next");
    }

    /**
     * The verdict of the current policy for the request's listener; {@code REJECT} with rule
     * {@value #NO_POLICY_RULE} when the policy has no section for that listener. Allocates nothing
     * beyond the source address bytes.
     */
    public Verdict evaluate(InspectRequest request) {
        ListenerPolicy listener = current.listenerOrNull(request.listener());
        return listener == null ? NO_POLICY : listener.evaluate(request);
    }
}
