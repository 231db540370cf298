package io.portcullis.policy.model;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Identity of one inspection (WSK's {@code WSK_INSPECT_ID}), compared by value.
 *
 * <p>Ids come from one process-wide sequence, so an id names one inspection across all listeners
 * of the process for its whole lifetime; the admin API can therefore address it without a listener.
 */
public record InspectId(long value) {

    private static final AtomicLong SEQUENCE = new AtomicLong();

    public InspectId {
        if (value <= 0) {
            throw new IllegalArgumentException("inspect id must be positive: " + value);
        }
    }

    /** A fresh id, never handed out before in this process. Any thread. */
    public static InspectId next() {
        return new InspectId(SEQUENCE.incrementAndGet());
    }

    /** Parses the form {@link #toString()} prints. */
    public static InspectId parse(String text) {
        try {
            return new InspectId(Long.parseLong(text));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an inspect id: '" + text + "'", e);
        }
    }

    @Override
    public String toString() {
        return Long.toString(value);
    }
}
