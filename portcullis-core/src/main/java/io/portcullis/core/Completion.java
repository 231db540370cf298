package io.portcullis.core;

import java.util.Objects;
import java.util.Optional;

/**
 * Who completed a pended inspection and why, for the audit line: {@code decidedBy} is a short word
 * ({@code service}, {@code cache}, {@code stale}, {@code operator}, {@code caller}…), {@code reason}
 * free text such as a decision service's {@code reason}. A {@code fallback} completion applies a
 * configured answer because the real one could not be had (a decision service failed, {@code on-failure}
 * decided): its pend is counted as outcome {@code failure} instead of accept or reject.
 */
public record Completion(String decidedBy, Optional<String> reason, boolean fallback) {

    /** A completion through the plain {@link Listener#inspectComplete(io.portcullis.core.InspectId,
     * io.portcullis.core.InspectAction)}. */
    public static final Completion CALLER = new Completion("caller", Optional.empty(), false);

    /**
     * Checks that nothing is null.
     *
     * @param decidedBy a short word for the audit line
     * @param reason    free text, if any
     * @param fallback  a configured answer after a failure
     */
    public Completion {
        Objects.requireNonNull(decidedBy, "decidedBy");
        Objects.requireNonNull(reason, "reason");
    }

    /**
     * A completion by {@code decidedBy}, without a reason.
     *
     * @param decidedBy a short word for the audit line
     * @return the completion
     */
    public static Completion by(String decidedBy) {
        return new Completion(decidedBy, Optional.empty(), false);
    }

    /**
     * A completion by {@code decidedBy}, with a reason.
     *
     * @param decidedBy a short word for the audit line
     * @param reason    free text; null or blank for none
     * @return the completion
     */
    public static Completion by(String decidedBy, String reason) {
        return new Completion(decidedBy, nonBlank(reason), false);
    }

    /**
     * A fallback answer after a failure, counted as outcome {@code failure}.
     *
     * @param decidedBy a short word for the audit line
     * @param reason    what failed; null or blank for nothing
     * @return the completion
     */
    public static Completion fallback(String decidedBy, String reason) {
        return new Completion(decidedBy, nonBlank(reason), true);
    }

    private static Optional<String> nonBlank(String reason) {
        return Optional.ofNullable(reason).filter(r -> !r.isBlank());
    }
}
