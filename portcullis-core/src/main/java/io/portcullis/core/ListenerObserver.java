package io.portcullis.core;


/**
 * What a {@link Listener} reports about its connections, for meters and logs. Keeps Netty code free
 * of any metrics library. Methods are called on event loops and must not block; all default to
 * doing nothing.
 */
public interface ListenerObserver {

    ListenerObserver NONE = new ListenerObserver() { };

    /** The kernel accepted a connection on this listener. */
    default void connectionArrived(String listener) { }

    /** The inspect handler answered {@code action} after {@code nanos}. */
    default void inspected(String listener, InspectAction action, long nanos) { }

    /** A pended inspection ended with {@code outcome} after being held {@code nanos}. */
    default void pendEnded(String listener, PendOutcome outcome, long nanos) { }

    /** An inspection ended (one call per inspected connection): for the audit log. */
    default void inspectionEnded(InspectionEnd end) { }

    /** An accepted connection was refused by its accept handler, or expired unclaimed in the pull queue. */
    default void acceptRefused(String listener) { }
}
