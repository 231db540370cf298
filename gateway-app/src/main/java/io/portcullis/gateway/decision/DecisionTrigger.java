package io.portcullis.gateway.decision;

import io.portcullis.core.InspectRequest;
import io.portcullis.core.Verdict;

/**
 * Starts the remote decision of a pended inspection. Called on the connection's event loop from inside the
 * inspect handler: it never blocks and never throws; the answer arrives later, on another thread.
 */
@FunctionalInterface
public interface DecisionTrigger {

    /** Decides nothing: a pend then waits for an operator or its deadline. */
    DecisionTrigger NONE = (request, verdict) -> { };

    /** {@code verdict} is a PEND naming a decision service; ask it about {@code request}. */
    void ask(InspectRequest request, Verdict verdict);
}
