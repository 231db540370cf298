package io.portcullis.core;

/** How a pended inspection ended; the {@code outcome} tag of {@code portcullis_pended_outcomes_total}. */
public enum PendOutcome {
    ACCEPT, REJECT, TIMEOUT, ABORT, FAILURE, OVERFLOW;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
