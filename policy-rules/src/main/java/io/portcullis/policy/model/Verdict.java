package io.portcullis.policy.model;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The policy's answer for one request: the action, the name of the rule that decided it
 * ({@value #DEFAULT_RULE} when no rule matched), and what the gateway needs to carry it out.
 *
 * @param action   accept, reject or pend
 * @param rule     the deciding rule's name, {@value #DEFAULT_RULE}, or {@code no-policy}
 * @param decision for {@code pend}: the decision service named by the rule's {@code decision} key
 *                 (the gateway checks that it exists); empty otherwise, or when the rule names none
 * @param timeout  for {@code pend}: the rule's {@code timeout}, which overrides the listener's
 *                 inspect timeout; empty otherwise
 * @param reason   why, when the rule alone does not say it (e.g. a limiter past its bound); for logs
 *                 and the audit line, never for metric tags
 * @param permit   the slot(s) this connection took from {@code concurrency-limit} rules: the gateway
 *                 must {@link Permit#release() release} it exactly when the connection ends
 *                 (releasing twice is harmless). {@link Permit#NONE} when nothing is held, which is
 *                 always so for {@code reject}: the evaluation releases what a rejected connection took.
 * @param route    for {@code accept} and {@code pend}: the named backend pool of the listener the rule's {@code route}
 *                 key names (the gateway checks that it exists); for a pend, the pool used when its decision
 *                 names none. Empty: the listener's own backends
 */
public record Verdict(
        InspectAction action,
        String rule,
        Optional<String> decision,
        Optional<Duration> timeout,
        Optional<String> reason,
        Permit permit,
        Optional<String> route) {

    /** Rule name reported when a listener's {@code default} decided. */
    public static final String DEFAULT_RULE = "default";

    public Verdict {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(decision, "decision");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(permit, "permit");
        Objects.requireNonNull(route, "route");
        if (action != InspectAction.PEND && (decision.isPresent() || timeout.isPresent())) {
            throw new IllegalArgumentException("decision and timeout belong to pend verdicts only");
        }
        if (action == InspectAction.REJECT && route.isPresent()) {
            throw new IllegalArgumentException("route belongs to accept and pend verdicts only");
        }
    }

    /** A verdict without a route. */
    public Verdict(InspectAction action, String rule, Optional<String> decision, Optional<Duration> timeout,
                   Optional<String> reason, Permit permit) {
        this(action, rule, decision, timeout, reason, permit, Optional.empty());
    }

    /** A verdict with nothing but an action and a rule: no decision service, timeout, reason, permit or route. */
    public Verdict(InspectAction action, String rule) {
        this(action, rule, Optional.empty(), Optional.empty(), Optional.empty(), Permit.NONE, Optional.empty());
    }

    /** This verdict holding {@code permit} (the evaluation adds the permits it took). */
    public Verdict withPermit(Permit permit) {
        return new Verdict(action, rule, decision, timeout, reason, permit, route);
    }

    /** This verdict with a reason. */
    public Verdict withReason(String reason) {
        return new Verdict(action, rule, decision, timeout, Optional.of(reason), permit, route);
    }
}
