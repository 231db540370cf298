package io.portcullis.core;

import java.util.Objects;
import java.util.Optional;

/**
 * Who completed a pended inspection and why, for the audit line: {@code decidedBy} is a short word
 * ({@code service}, {@code cache}, {@code stale}, {@code operator}, {@code caller}…), {@code reason}
 * free text such as a decision service's {@code reason}. A {@code fallback} completion applies a
 * configured answer because the real one could not be had (a decision service failed, {@code on-failure}
 * decided): its pend is counted as outcome {@code failure} instead of accept or reject. An ACCEPT may name the
 * backend {@code route} (a pool's name) the connection goes to, overriding the pend verdict's
 * ({@link Verdict#route()}); it is ignored with a REJECT.
 *
 * @param decidedBy a short word for the audit line
 * @param reason    free text, if any
 * @param fallback  a configured answer after a failure
 * @param route     the named backend pool of an ACCEPT, if any
 */
public record Completion(String decidedBy, Optional<String> reason, boolean fallback, Optional<String> route) {

    /** A completion through the plain {@link Listener#inspectComplete(io.portcullis.core.InspectId,
     * io.portcullis.core.InspectAction)}. */
    public static final Completion CALLER = new Completion("caller", Optional.empty(), false, Optional.empty());

    /**
     * Checks that nothing is null and that a route is not blank.
     *
     * @param decidedBy a short word for the audit line
     * @param reason    free text, if any
     * @param fallback  a configured answer after a failure
     * @param route     the named backend pool of an ACCEPT, if any
     */
    public Completion {
        Objects.requireNonNull(decidedBy, "decidedBy");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(route, "route");
        if (route.isPresent() && route.get().isBlank()) {
            throw new IllegalArgumentException("a route is a pool's name, not blank");
        }
    }

    /**
     * A completion without a route.
     *
     * @param decidedBy a short word for the audit line
     * @param reason    free text, if any
     * @param fallback  a configured answer after a failure
     */
    public Completion(String decidedBy, Optional<String> reason, boolean fallback) {
        this(decidedBy, reason, fallback, Optional.empty());
    }

    /**
     * This completion sending an accepted connection to the backend pool {@code name}.
     *
     * @param name the pool's name, as the accept handler knows it; null for none (the pend verdict's route)
     * @return a completion like this one with that route
     */
    public Completion withRoute(String name) {
        return new Completion(decidedBy, reason, fallback, Optional.ofNullable(name));
    }

    /**
     * A completion by {@code decidedBy}, without a reason.
     *
     * @param decidedBy a short word for the audit line
     * @return the completion
     */
    public static Completion by(String decidedBy) {
        return new Completion(decidedBy, Optional.empty(), false, Optional.empty());
    }

    /**
     * A completion by {@code decidedBy}, with a reason.
     *
     * @param decidedBy a short word for the audit line
     * @param reason    free text; null or blank for none
     * @return the completion
     */
    public static Completion by(String decidedBy, String reason) {
        return new Completion(decidedBy, nonBlank(reason), false, Optional.empty());
    }

    /**
     * A fallback answer after a failure, counted as outcome {@code failure}.
     *
     * @param decidedBy a short word for the audit line
     * @param reason    what failed; null or blank for nothing
     * @return the completion
     */
    public static Completion fallback(String decidedBy, String reason) {
        return new Completion(decidedBy, nonBlank(reason), true, Optional.empty());
    }

    private static Optional<String> nonBlank(String reason) {
        return Optional.ofNullable(reason).filter(r -> !r.isBlank());
    }
}
