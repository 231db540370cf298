package io.portcullis.gateway.listener;

import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Pull accept (WSK's {@code WskAccept} with queued IRPs): accepted connections wait here for
 * {@link Listener#accept()} calls, and calls wait for connections. Both sides are bounded; a queued
 * connection that nobody claims within {@code unclaimedTimeout} is closed and counted.
 *
 * <p>A short lock guards the two queues; futures are completed outside it.
 */
final class PullAcceptQueue implements AcceptHandler {

    private final String listener;
    private final int maxQueued;
    private final int maxWaiters;
    private final Duration unclaimedTimeout;
    private final ListenerObserver observer;
    private final ArrayDeque<Queued> queued = new ArrayDeque<>();
    private final ArrayDeque<CompletableFuture<AcceptedConnection>> waiters = new ArrayDeque<>();
    private boolean closed;

    PullAcceptQueue(String listener, int maxQueued, int maxWaiters, Duration unclaimedTimeout, ListenerObserver observer) {
        this.listener = listener;
        this.maxQueued = maxQueued;
        this.maxWaiters = maxWaiters;
        this.unclaimedTimeout = unclaimedTimeout;
        this.observer = observer;
    }

    /** A connection arrives. Event loop. */
    @Override
    public boolean accepted(AcceptedConnection connection) {
        while (true) {
            CompletableFuture<AcceptedConnection> waiter;
            synchronized (this) {
                if (closed) {
                    return false;
                }
                waiter = waiters.poll();
                if (waiter == null) {
                    if (queued.size() >= maxQueued) {
                        return false;
                    }
                    Queued entry = new Queued(connection);
                    queued.add(entry);
                    entry.expiry = connection.channel().eventLoop()
                            .schedule(entry, unclaimedTimeout.toNanos(), TimeUnit.NANOSECONDS);
                    return true;
                }
            }
            if (waiter.complete(connection)) {
                return true;
            }
            // The caller cancelled that wait; offer the connection to the next one.
        }
    }

    /** A caller asks for a connection. Any thread. */
    CompletableFuture<AcceptedConnection> take() {
        while (true) {
            Queued entry;
            synchronized (this) {
                if (closed) {
                    return CompletableFuture.failedFuture(new IllegalStateException("listener '" + listener + "' is closed"));
                }
                entry = queued.poll();
                if (entry == null) {
                    if (waiters.size() >= maxWaiters) {
                        return CompletableFuture.failedFuture(new IllegalStateException(
                                "listener '" + listener + "' already has " + maxWaiters + " accept() calls waiting"));
                    }
                    CompletableFuture<AcceptedConnection> waiter = new CompletableFuture<>();
                    waiters.add(waiter);
                    return waiter;
                }
            }
            entry.expiry.cancel(false);
            if (entry.connection.channel().isActive()) {
                return CompletableFuture.completedFuture(entry.connection);
            }
            // The client left while queued; its channel is closed and its bytes released already.
        }
    }

    /** Fails waiting calls and closes queued connections. Any thread. */
    void close() {
        ArrayDeque<Queued> dropped;
        ArrayDeque<CompletableFuture<AcceptedConnection>> failed;
        synchronized (this) {
            closed = true;
            dropped = new ArrayDeque<>(queued);
            failed = new ArrayDeque<>(waiters);
            queued.clear();
            waiters.clear();
        }
        IllegalStateException error = new IllegalStateException("listener '" + listener + "' is closed");
        failed.forEach(w -> w.completeExceptionally(error));
        dropped.forEach(q -> {
            q.expiry.cancel(false);
            q.connection.close();
        });
    }

    synchronized int queuedCount() {
        return queued.size();
    }

    private synchronized boolean remove(Queued entry) {
        Iterator<Queued> it = queued.iterator();
        while (it.hasNext()) {
            if (it.next() == entry) {
                it.remove();
                return true;
            }
        }
        return false;
    }

    private final class Queued implements Runnable {
        final AcceptedConnection connection;
        ScheduledFuture<?> expiry;

        Queued(AcceptedConnection connection) {
            this.connection = connection;
        }

        /** Nobody claimed the connection in time. */
        @Override
        public void run() {
            if (remove(this)) {
                observer.acceptRefused(listener);
                connection.close();
            }
        }
    }
}
