package io.portcullis.core.relay;

/**
 * What relays report, for meters. Keeps the relay free of any metrics library. Methods are called on
 * event loops and must not block; all default to doing nothing. Arguments are names from configuration
 * (listener, configured backend), never client addresses, so they are safe as meter tags.
 */
public interface RelayObserver {

    /** Hears nothing. */
    RelayObserver NONE = new RelayObserver() { };

    /** {@code direction} of {@link #bytes}: client to backend. */
    String UPSTREAM = "upstream";
    /** {@code direction} of {@link #bytes}: backend to client. */
    String DOWNSTREAM = "downstream";
    /** The pool name {@link #backendHealth(String, String, String, boolean)} gives a relay's default pool. */
    String DEFAULT_POOL = "default";

    /**
     * Bytes were read from one side and handed to the other; reported once per read batch, not per byte.
     *
     * @param listener  the listener's name
     * @param direction {@link #UPSTREAM} or {@link #DOWNSTREAM}
     * @param n         how many
     */
    default void bytes(String listener, String direction, long n) { }

    /**
     * A relay started (its backend connect begins); paired with exactly one {@link #connectionClosed}.
     *
     * @param listener the listener's name
     */
    default void connectionOpened(String listener) { }

    /**
     * A relay ended, whatever the reason.
     *
     * @param listener the listener's name
     */
    default void connectionClosed(String listener) { }

    /**
     * Connecting to a backend failed or timed out; the next is tried.
     *
     * @param listener the listener's name
     * @param backend  its configured {@code host:port}
     */
    default void backendConnectFailed(String listener, String backend) { }

    /**
     * The health check found a backend up or down; called at start for every backend and on each change.
     *
     * @param listener the listener's name
     * @param backend  its configured {@code host:port}
     * @param up       what the check found
     */
    default void backendHealth(String listener, String backend, boolean up) { }

    /**
     * The health check found a backend of a pool up or down; called at start for every backend and on each change.
     * By default it reports to {@link #backendHealth(String, String, boolean)} without the pool.
     *
     * @param listener the listener's name
     * @param pool     the pool's name, {@link #DEFAULT_POOL} for the relay's default pool
     * @param backend  its configured {@code host:port}
     * @param up       what the check found
     */
    default void backendHealth(String listener, String pool, String backend, boolean up) {
        backendHealth(listener, backend, up);
    }

    /**
     * No backend of the pool could be reached; the client was closed.
     *
     * @param listener the listener's name
     */
    default void allBackendsFailed(String listener) { }
}
