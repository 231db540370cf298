package io.portcullis.policy.limit;

import io.portcullis.policy.model.Permit;

import java.util.Arrays;

/** Joining the permits one connection took from several {@code concurrency-limit} rules. */
public final class Permits {

    private Permits() {
    }

    /** A permit that releases both; {@link Permit#NONE} is left out. Releasing it twice is harmless. */
    public static Permit combine(Permit held, Permit more) {
        if (held == Permit.NONE) {
            return more;
        }
        if (more == Permit.NONE) {
            return held;
        }
        if (held instanceof Combined combined) {
            Permit[] all = Arrays.copyOf(combined.permits, combined.permits.length + 1);
            all[combined.permits.length] = more;
            return new Combined(all);
        }
        return new Combined(new Permit[] {held, more});
    }

    private static final class Combined implements Permit {

        private final Permit[] permits;

        Combined(Permit[] permits) {
            this.permits = permits;
        }

        @Override
        public void release() {
            for (Permit permit : permits) {
                permit.release(); // each is idempotent
            }
        }

        @Override
        public String toString() {
            return "Permits" + Arrays.toString(permits);
        }
    }
}
