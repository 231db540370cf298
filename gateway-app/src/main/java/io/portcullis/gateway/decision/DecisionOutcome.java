package io.portcullis.gateway.decision;

import java.util.Locale;

/** The {@code outcome} tag of {@code portcullis_decision_requests_total}. */
public enum DecisionOutcome {
    /** The service answered accept. */
    ACCEPT,
    /** The service answered reject. */
    REJECT,
    /** The call failed: error status, timeout, refused connection, malformed answer, full bulkhead. */
    FAILURE,
    /** Answered from the cache, no call made. */
    CACHED,
    /** The circuit breaker was open: no call made, handled as a failure. */
    CIRCUIT_OPEN;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
