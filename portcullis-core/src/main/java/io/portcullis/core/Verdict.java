package io.portcullis.core;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * An {@link InspectHandler}'s full answer for one connection: the action and what the listener needs to carry it
 * out. Immutable; any thread.
 *
 * @param action   accept, reject or pend
 * @param rule     what decided, for the audit line, listings and meters (a policy rule's name, say)
 * @param decision for a PEND: the name of what will complete it (a decision service), shown in listings; empty
 *                 otherwise or when an operator or the deadline will
 * @param timeout  for a PEND: its deadline, instead of the listener's {@code inspect timeout}; empty otherwise
 * @param permit   held until the connection closes, then released by the listener; {@link Permit#NONE} for none
 */
public record Verdict(InspectAction action, String rule, Optional<String> decision, Optional<Duration> timeout,
                      Permit permit) {

    /**
     * Checks that nothing is null, and that only a PEND has a decision or a timeout.
     *
     * @param action   accept, reject or pend
     * @param rule     what decided
     * @param decision what will complete a PEND, if named
     * @param timeout  a PEND's own deadline, if any
     * @param permit   released when the connection closes
     */
    public Verdict {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(decision, "decision");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(permit, "permit");
        if (action != InspectAction.PEND && (decision.isPresent() || timeout.isPresent())) {
            throw new IllegalArgumentException("decision and timeout belong to pend verdicts only");
        }
    }

    /**
     * A verdict with nothing but an action and what decided it.
     *
     * @param action accept, reject or pend
     * @param rule   what decided
     */
    public Verdict(InspectAction action, String rule) {
        this(action, rule, Optional.empty(), Optional.empty(), Permit.NONE);
    }
}
