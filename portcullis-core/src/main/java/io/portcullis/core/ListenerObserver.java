package io.portcullis.core;


/**
 * What a {@link Listener} reports about its connections, for meters and logs. Keeps Netty code free
 * of any metrics library. Methods are called on event loops and must not block; all default to
 * doing nothing.
 */
public interface ListenerObserver {

    /** Hears nothing. */
    ListenerObserver NONE = new ListenerObserver() { };

    /**
     * The kernel accepted a connection on this listener.
     *
     * @param listener the listener's name
     */
    default void connectionArrived(String listener) { }

    /**
     * The inspect handler answered.
     *
     * @param listener the listener's name
     * @param action   its answer
     * @param nanos    how long it took
     */
    default void inspected(String listener, InspectAction action, long nanos) { }

    /**
     * A pended inspection ended; once per pend, and once for a PEND refused past max-pending.
     *
     * @param listener the listener's name
     * @param outcome  how it ended
     * @param nanos    how long it was held (0 for overflow)
     */
    default void pendEnded(String listener, PendOutcome outcome, long nanos) { }

    /**
     * An inspection ended (one call per inspected connection): for the audit log.
     *
     * @param end what happened
     */
    default void inspectionEnded(InspectionEnd end) { }

    /**
     * A connection was reset while peeking, before inspection.
     *
     * @param listener the listener's name
     * @param reason   why
     */
    default void peekRejected(String listener, PeekReject reason) { }

    /**
     * An accepted connection was refused by its accept handler, or expired unclaimed in the pull queue.
     *
     * @param listener the listener's name
     */
    default void acceptRefused(String listener) { }
}
