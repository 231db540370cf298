package io.portcullis.gateway.policy;

import io.portcullis.core.InspectRequest;
import io.portcullis.core.Permit;
import io.portcullis.policy.ClusterStep;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * One connection pended while the cluster store is asked about its {@code scope: cluster} limiters, and the permit
 * of the PEND verdict that holds it: the listener releases it when the connection closes, whatever ended it, and it
 * then releases every permit attached to it — local slots taken before the step, leases the store gave, the final
 * verdict's permit. A permit attached after that (a lease granted while the client was already gone) is released at
 * once. The holder releases each attached permit once; the same slot or lease may be attached more than once (in
 * a step's held permits and again in the final verdict's), which is harmless since each is released at most once
 * (concurrency slots are idempotent, and {@link ClusterLimiting} wraps every lease so).
 *
 * <p>It is also the callback of the store call in flight ({@link #accept}): the answer, on the store's thread, goes
 * to {@link ClusterLimiting}, which resumes the evaluation of {@link #step()}. One call is in flight at a time, and
 * the next starts from the answer of the one before, so the fields the callbacks write are seen by the next.
 * Thread-safe.
 */
final class ClusterWait implements Permit, BiConsumer<Object, Throwable> {

    private final ClusterLimiting owner;
    private final InspectRequest request;
    private volatile ClusterStep step;
    /** When the first store call started; 0 before. */
    private volatile long startNanos;
    /** Whether the store failed for one of the steps: the completion is then a fallback. */
    private volatile boolean storeFailed;
    private final List<io.portcullis.policy.model.Permit> held = new ArrayList<>(2);
    private boolean closed;

    ClusterWait(ClusterLimiting owner, InspectRequest request, ClusterStep step) {
        this.owner = owner;
        this.request = request;
        this.step = step;
        attach(step.held());
    }

    InspectRequest request() {
        return request;
    }

    ClusterStep step() {
        return step;
    }

    void step(ClusterStep next) {
        this.step = next;
    }

    long startNanos() {
        return startNanos;
    }

    void started(long nanos) {
        this.startNanos = nanos;
    }

    boolean storeFailed() {
        return storeFailed;
    }

    void markStoreFailed() {
        this.storeFailed = true;
    }

    /** Holds {@code permit} until the connection closes; releases it at once when it has closed already. Any thread. */
    void attach(io.portcullis.policy.model.Permit permit) {
        if (permit == io.portcullis.policy.model.Permit.NONE) {
            return;
        }
        synchronized (this) {
            if (!closed) {
                held.add(permit);
                return;
            }
        }
        permit.release();
    }

    /** Whether the connection has closed. Any thread. */
    synchronized boolean isClosed() {
        return closed;
    }

    /** The connection closed: gives back everything attached, now and later. Called by the listener; any thread. */
    @Override
    public void release() {
        List<io.portcullis.policy.model.Permit> toRelease;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toRelease = new ArrayList<>(held);
            held.clear();
        }
        for (io.portcullis.policy.model.Permit permit : toRelease) {
            permit.release();
        }
    }

    /** The store answered the call of {@link #step()}: a {@code Boolean}, an {@code Optional<Permit>}, or an error. */
    @Override
    public void accept(Object answer, Throwable error) {
        owner.answered(this, answer, error);
    }

    @Override
    public String toString() {
        return "ClusterWait[" + request.id() + " at " + step + "]";
    }
}
