package io.portcullis.gateway.decision;

import io.portcullis.core.Completion;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * Completes a pended inspection on the listener it arrived on: what a decision does with its answer. The
 * gateway is one; tests give a lambda. Any thread.
 */
@FunctionalInterface
public interface Completer {

    /** Nothing to complete: every completion is refused. */
    Completer NONE = (listener, id, action, completion) -> false;

    /**
     * As {@link io.portcullis.core.Listener#inspectComplete(InspectId, InspectAction, Completion)} on
     * the listener named {@code listener}.
     *
     * @return true when this call decided the inspection; false when it had already ended or the listener is gone
     */
    boolean complete(String listener, InspectId id, InspectAction action, Completion completion);

    /** The names a route may use on {@code listener} (its backend pools, "default" included); empty when unknown. */
    default Set<String> routes(String listener) {
        return Set.of();
    }

    /** The listener's {@code inspect.timeout}, the deadline of a pend whose rule gives none. */
    default Optional<Duration> inspectTimeout(String listener) {
        return Optional.empty();
    }
}
