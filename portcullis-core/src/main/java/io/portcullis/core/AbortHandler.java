package io.portcullis.core;


/**
 * Told when a pended inspection ends without {@link Listener#inspectComplete} (WSK's {@code WskAbortEvent}).
 *
 * <p>Called exactly once per such inspection and never after a completion, on the connection's
 * event loop: it must not block. Once it has been called, {@code inspectComplete} for that id returns false.
 */
@FunctionalInterface
public interface AbortHandler {

    AbortHandler NONE = (id, reason) -> { };

    void aborted(InspectId id, AbortReason reason);
}
