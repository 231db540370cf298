package io.portcullis.core;

import java.time.Duration;
import java.util.Optional;

/**
 * A snapshot of one pended inspection, for operators.
 *
 * @param request what was inspected
 * @param rule    the rule that pended it
 * @param age     how long it has been pended
 * @param heldBytes client bytes held for it (at most the listener's {@code hold-bytes})
 * @param inputShut the client has half-closed: it sent those bytes and a FIN, and waits for the answer
 * @param route   the named backend pool it goes to if accepted without naming another (its verdict's route)
 * @param timeout its deadline, counted from when it was pended (its verdict's, else the listener's
 *                {@code inspect timeout}); {@link Duration#ZERO} when unknown
 */
public record PendingInspection(InspectRequest request, String rule, Duration age, int heldBytes, boolean inputShut,
                                Optional<String> route, Duration timeout) {

    /**
     * A snapshot without a known deadline.
     *
     * @param request   what was inspected
     * @param rule      the rule that pended it
     * @param age       how long it has been pended
     * @param heldBytes client bytes held for it
     * @param inputShut the client has half-closed
     * @param route     the named backend pool it goes to if accepted without naming another
     */
    public PendingInspection(InspectRequest request, String rule, Duration age, int heldBytes, boolean inputShut,
                             Optional<String> route) {
        this(request, rule, age, heldBytes, inputShut, route, Duration.ZERO);
    }

    /**
     * How long until its deadline decides it, as of the snapshot; zero when it is due or the deadline is unknown.
     *
     * @return the time left
     */
    public Duration remaining() {
        Duration left = timeout.minus(age);
        return left.isNegative() ? Duration.ZERO : left;
    }

    /**
     * A snapshot without a route.
     *
     * @param request   what was inspected
     * @param rule      the rule that pended it
     * @param age       how long it has been pended
     * @param heldBytes client bytes held for it
     * @param inputShut the client has half-closed
     */
    public PendingInspection(InspectRequest request, String rule, Duration age, int heldBytes, boolean inputShut) {
        this(request, rule, age, heldBytes, inputShut, Optional.empty(), Duration.ZERO);
    }
}
