package io.portcullis.reliability;

import java.util.concurrent.TimeUnit;

/** Polling with a deadline: what the scenarios wait for (a meter, a gauge, a file) has no event to wait on. */
final class Await {

    /** A state of the gateway or of the clients, read again on each poll. */
    interface Condition {
        boolean holds() throws Exception;
    }

    private Await() {
    }

    /** Polls every 100 ms until {@code c} holds or {@code seconds} pass; whether it held. */
    static boolean until(Condition c, int seconds) throws Exception {
        return until(c, seconds, 100);
    }

    /** Polls every {@code pollMillis} until {@code c} holds or {@code seconds} pass; whether it held. */
    static boolean until(Condition c, int seconds, long pollMillis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!c.holds()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(pollMillis);
        }
        return true;
    }
}
