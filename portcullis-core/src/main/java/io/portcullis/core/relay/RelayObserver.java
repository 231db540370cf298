package io.portcullis.core.relay;

/**
 * What relays report, for meters. Keeps the relay free of any metrics library. Methods are called on
 * event loops and must not block; all default to doing nothing. Arguments are names from configuration
 * (listener, configured backend), never client addresses, so they are safe as meter tags.
 */
public interface RelayObserver {

    RelayObserver NONE = new RelayObserver() { };

    /** {@code direction} of {@link #bytes}: client to backend. */
    String UPSTREAM = "upstream";
    /** {@code direction} of {@link #bytes}: backend to client. */
    String DOWNSTREAM = "downstream";

    /** {@code n} bytes were read from one side and handed to the other; reported once per read, not per byte. */
    default void bytes(String listener, String direction, long n) { }

    /** A relay started (its backend connect begins); paired with exactly one {@link #connectionClosed}. */
    default void connectionOpened(String listener) { }

    /** A relay ended, whatever the reason. */
    default void connectionClosed(String listener) { }

    /** Connecting to {@code backend} (its configured {@code host:port}) failed or timed out; the next is tried. */
    default void backendConnectFailed(String listener, String backend) { }

    /** The health check found {@code backend} up or down; called at start for every backend and on each change. */
    default void backendHealth(String listener, String backend, boolean up) { }

    /** No backend of the pool could be reached; the client was closed. */
    default void allBackendsFailed(String listener) { }
}
