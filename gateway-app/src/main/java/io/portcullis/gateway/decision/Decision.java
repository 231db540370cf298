package io.portcullis.gateway.decision;

import io.portcullis.core.InspectAction;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A decision service's answer.
 *
 * @param action ACCEPT or REJECT
 * @param reason the service's reason, for the audit line (never a metric tag)
 * @param ttl    how long the answer may be cached, when the service said so (zero: not at all)
 * @param route  the backend pool of the listener an accepted connection goes to, when the service named one
 *               (never with REJECT); the gateway checks it against the listener's pools
 */
public record Decision(InspectAction action, Optional<String> reason, Optional<Duration> ttl, Optional<String> route) {

    /** An answer without a route. */
    public Decision(InspectAction action, Optional<String> reason, Optional<Duration> ttl) {
        this(action, reason, ttl, Optional.empty());
    }

    public Decision {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(ttl, "ttl");
        Objects.requireNonNull(route, "route");
        if (action == InspectAction.PEND) {
            throw new IllegalArgumentException("a decision accepts or rejects");
        }
        if (action == InspectAction.REJECT && route.isPresent()) {
            throw new IllegalArgumentException("a reject goes to no pool");
        }
    }
}
