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
 */
public record Decision(InspectAction action, Optional<String> reason, Optional<Duration> ttl) {

    public Decision {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(ttl, "ttl");
        if (action == InspectAction.PEND) {
            throw new IllegalArgumentException("a decision accepts or rejects");
        }
    }
}
