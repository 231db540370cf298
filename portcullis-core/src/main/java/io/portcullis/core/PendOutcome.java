package io.portcullis.core;

/** How a pended inspection ended; the {@code outcome} tag of {@code portcullis_pended_outcomes_total}. */
public enum PendOutcome {
    /** Completed with ACCEPT. */
    ACCEPT,
    /** Completed with REJECT. */
    REJECT,
    /** The deadline passed; the listener's on-timeout applied. */
    TIMEOUT,
    /** The client left, or the listener closed. */
    ABORT,
    /** A fallback completion after a failure ({@link Completion#fallback}), whatever it decided. */
    FAILURE,
    /** Refused past max-pending; the listener's on-overflow applied. */
    OVERFLOW;

    /**
     * The tag value.
     *
     * @return the lower-case name
     */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
