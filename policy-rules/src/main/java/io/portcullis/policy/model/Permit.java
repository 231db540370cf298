package io.portcullis.policy.model;

/**
 * A slot a connection holds while it is open, taken by a {@code concurrency-limit} rule when the
 * connection passed it. The gateway keeps the {@link Verdict#permit()} of every accepted or pended
 * connection and calls {@link #release()} once the connection has ended (closed, rejected later,
 * timed out, aborted); until then the slot counts against the limit.
 *
 * <p>{@link #release()} is idempotent: only the first call gives the slot back, later calls do
 * nothing, so "release in every close path" is safe. {@link #NONE} is the permit of a verdict that
 * holds nothing. Implementations are thread-safe; release from any thread.
 */
public interface Permit {

    /** The permit of a verdict that holds no slot; releasing it does nothing. */
    Permit NONE = new Permit() {
        @Override
        public void release() {
        }

        @Override
        public String toString() {
            return "Permit.NONE";
        }
    };

    /** Gives the slot back; does nothing after the first call. Any thread; does not block. */
    void release();
}
