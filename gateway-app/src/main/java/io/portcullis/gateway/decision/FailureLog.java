package io.portcullis.gateway.decision;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * Logs the failures of one decision service (or of one kind) once per burst: at most one warning per {@link #WINDOW_NANOS},
 * saying how many were not logged since the last one. Never a line per connection. Any thread, lock-free. Public so
 * that other remote parts (the cluster store's limiters) log their failures the same way.
 */
public final class FailureLog {

    static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final Logger log;
    private final String subject;
    private final AtomicLong nextAt;
    private final AtomicInteger suppressed = new AtomicInteger();

    /** {@code subject} starts each line, e.g. {@code Decision service 'authz'}. */
    public FailureLog(Logger log, String subject) {
        this.log = log;
        this.subject = subject;
        this.nextAt = new AtomicLong(System.nanoTime());
    }

    /** One failure; {@code what} says what happened, {@code decided} what was decided instead. */
    public void failed(String what, String decided) {
        long now = System.nanoTime();
        long next = nextAt.get();
        if (now - next >= 0 && nextAt.compareAndSet(next, now + WINDOW_NANOS)) {
            int notLogged = suppressed.getAndSet(0);
            log.warn("{} failed: {}; {}{}", subject, what, decided,
                    notLogged == 0 ? "" : " (" + notLogged + " more failure(s) since the last warning, not logged)");
        } else {
            suppressed.incrementAndGet();
        }
    }
}
