package io.portcullis.gateway.listener;

import java.util.Objects;
import java.util.Optional;

/**
 * Who completed a pended inspection and why, for the audit line: {@code decidedBy} is a short word
 * ({@code service}, {@code cache}, {@code stale}, {@code operator}, {@code caller}…), {@code reason}
 * free text such as a decision service's {@code reason}.
 */
public record Completion(String decidedBy, Optional<String> reason) {

    /** A completion through the plain {@link Listener#inspectComplete(io.portcullis.policy.model.InspectId,
     * io.portcullis.policy.model.InspectAction)}. */
    public static final Completion CALLER = new Completion("caller", Optional.empty());

    public Completion {
        Objects.requireNonNull(decidedBy, "decidedBy");
        Objects.requireNonNull(reason, "reason");
    }

    public static Completion by(String decidedBy) {
        return new Completion(decidedBy, Optional.empty());
    }

    public static Completion by(String decidedBy, String reason) {
        return new Completion(decidedBy, Optional.ofNullable(reason).filter(r -> !r.isBlank()));
    }
}
