package io.portcullis.core;


/**
 * Told when a pended inspection ends without {@link Listener#inspectComplete} (WSK's {@code WskAbortEvent}).
 *
 * <p>Called exactly once per such inspection and never after a completion, on the connection's
 * event loop: it must not block. Once it has been called, {@code inspectComplete} for that id returns false.
 */
@FunctionalInterface
public interface AbortHandler {

    /** Hears nothing. */
    AbortHandler NONE = (id, reason) -> { };

    /**
     * The inspection {@code id} ended without a completion.
     *
     * @param id     the inspection
     * @param reason the client left, the deadline passed, or the listener closed
     */
    void aborted(InspectId id, AbortReason reason);
}
