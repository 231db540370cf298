package io.portcullis.core;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Identity of one inspection (WSK's {@code WSK_INSPECT_ID}), compared by value.
 *
 * <p>Ids come from one process-wide sequence, so an id names one inspection across all listeners of the
 * process for its whole lifetime; an operator can therefore address it without naming its listener.
 *
 * @param value the id's number, positive
 */
public record InspectId(long value) {

    private static final AtomicLong SEQUENCE = new AtomicLong();

    /**
     * @param value the id's number
     * @throws IllegalArgumentException when {@code value} is not positive
     */
    public InspectId {
        if (value <= 0) {
            throw new IllegalArgumentException("inspect id must be positive: " + value);
        }
    }

    /**
     * A fresh id, never handed out before in this process. Any thread.
     *
     * @return the next id of the sequence
     */
    public static InspectId next() {
        return new InspectId(SEQUENCE.incrementAndGet());
    }

    /**
     * Parses the form {@link #toString()} prints.
     *
     * @param text decimal digits
     * @return the id
     * @throws IllegalArgumentException when {@code text} is not a positive number
     */
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
