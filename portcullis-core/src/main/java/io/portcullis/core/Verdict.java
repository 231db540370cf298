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
 * @param route    for an ACCEPT: the named backend pool the connection goes to ({@link AcceptedConnection#route()});
 *                 for a PEND: the pool it goes to when accepted, unless the completion names another
 *                 ({@link Completion#route()}); empty: the accept handler's default
 */
public record Verdict(InspectAction action, String rule, Optional<String> decision, Optional<Duration> timeout,
                      Permit permit, Optional<String> route) {

    /**
     * Checks that nothing is null, that only a PEND has a decision or a timeout, and that a REJECT has no route.
     *
     * @param action   accept, reject or pend
     * @param rule     what decided
     * @param decision what will complete a PEND, if named
     * @param timeout  a PEND's own deadline, if any
     * @param permit   released when the connection closes
     * @param route    the named pool of an ACCEPT or a PEND, if any; never blank
     */
    public Verdict {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(decision, "decision");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(permit, "permit");
        Objects.requireNonNull(route, "route");
        if (action != InspectAction.PEND && (decision.isPresent() || timeout.isPresent())) {
            throw new IllegalArgumentException("decision and timeout belong to pend verdicts only");
        }
        if (route.isPresent() && (action == InspectAction.REJECT || route.get().isBlank())) {
            throw new IllegalArgumentException(action == InspectAction.REJECT
                    ? "a reject verdict has no route" : "a route is a pool's name, not blank");
        }
    }

    /**
     * A verdict without a route.
     *
     * @param action   accept, reject or pend
     * @param rule     what decided
     * @param decision what will complete a PEND, if named
     * @param timeout  a PEND's own deadline, if any
     * @param permit   released when the connection closes
     */
    public Verdict(InspectAction action, String rule, Optional<String> decision, Optional<Duration> timeout,
                   Permit permit) {
        this(action, rule, decision, timeout, permit, Optional.empty());
    }

    /**
     * A verdict with nothing but an action and what decided it.
     *
     * @param action accept, reject or pend
     * @param rule   what decided
     */
    public Verdict(InspectAction action, String rule) {
        this(action, rule, Optional.empty(), Optional.empty(), Permit.NONE, Optional.empty());
    }

    /**
     * This verdict sending its connection to the backend pool {@code name}.
     *
     * @param name the pool's name, as the accept handler knows it
     * @return a verdict like this one with that route
     * @throws IllegalArgumentException for a REJECT or a blank name
     */
    public Verdict withRoute(String name) {
        return new Verdict(action, rule, decision, timeout, permit, Optional.of(Objects.requireNonNull(name, "name")));
    }
}
