package io.portcullis.core;

import java.util.Optional;

/**
 * How one inspection ended: the facts of its audit line.
 *
 * @param request      what was inspected
 * @param rule         the rule whose verdict started it ({@code inspect-handler} for a bare handler, {@code error}
 *                     when the handler failed)
 * @param action       what was done with the connection; empty when the client left first
 * @param outcome      accept, reject, timeout, abort or overflow
 * @param decidedBy    rule, timeout, overflow, client, shutdown, error, or a {@link Completion}'s decidedBy
 * @param reason       the completion's reason, when one was given
 * @param inspectNanos time the inspect handler took
 * @param pendNanos    time held pended (0 when never pended)
 * @param route        the named backend pool an accepted connection goes to; empty for the default, and when not
 *                     accepted
 */
public record InspectionEnd(
        InspectRequest request,
        String rule,
        Optional<InspectAction> action,
        String outcome,
        String decidedBy,
        Optional<String> reason,
        long inspectNanos,
        long pendNanos,
        Optional<String> route) {

    /**
     * An end without a route.
     *
     * @param request      what was inspected
     * @param rule         the rule whose verdict started it
     * @param action       what was done with the connection; empty when the client left first
     * @param outcome      accept, reject, timeout, abort or overflow
     * @param decidedBy    who decided
     * @param reason       the completion's reason, when one was given
     * @param inspectNanos time the inspect handler took
     * @param pendNanos    time held pended (0 when never pended)
     */
    public InspectionEnd(InspectRequest request, String rule, Optional<InspectAction> action, String outcome,
                         String decidedBy, Optional<String> reason, long inspectNanos, long pendNanos) {
        this(request, rule, action, outcome, decidedBy, reason, inspectNanos, pendNanos, Optional.empty());
    }
}
