package io.portcullis.core;

/**
 * Something a connection holds while it is open, given back when it closes: a concurrency limiter's slot,
 * say. A {@link Verdict} carries it; the listener calls {@link #release()} once the inspected connection has
 * closed, whatever ended it.
 */
@FunctionalInterface
public interface Permit {

    /** Holds nothing; releasing it does nothing. */
    Permit NONE = () -> { };

    /** Gives back what is held. Called once, on the connection's event loop; must not block. */
    void release();
}
