package io.portcullis.core;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
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

    /** A caller asks for a connection. Any thread; the future completes on the connection's event loop. */
    CompletableFuture<AcceptedConnection> take() {
        CompletableFuture<AcceptedConnection> future = new CompletableFuture<>();
        serve(future);
        return future;
    }

    /** Gives {@code waiter} the next queued connection, on that connection's loop, or makes it wait for one. */
    private void serve(CompletableFuture<AcceptedConnection> waiter) {
        Queued entry;
        synchronized (this) {
            if (closed) {
                waiter.completeExceptionally(new IllegalStateException("listener '" + listener + "' is closed"));
                return;
            }
            entry = queued.poll();
            if (entry == null) {
                if (waiters.size() >= maxWaiters) {
                    waiter.completeExceptionally(new IllegalStateException(
                            "listener '" + listener + "' already has " + maxWaiters + " accept() calls waiting"));
                } else {
                    waiters.add(waiter);
                }
                return;
            }
        }
        entry.expiry.cancel(false);
        EventLoop loop = entry.connection.channel().eventLoop();
        try {
            loop.execute(() -> handOut(entry, waiter));
        } catch (RejectedExecutionException e) {
            // That loop has stopped and closed its channels: try the next one.
            serve(waiter);
        }
    }

    /** On the connection's loop: completes the waiter, unless the client left meanwhile (then the next one). */
    private void handOut(Queued entry, CompletableFuture<AcceptedConnection> waiter) {
        if (!entry.connection.channel().isActive()) {
            // The client left while queued; its channel is closed and its bytes released already.
            serve(waiter);
        } else if (!waiter.complete(entry.connection)) {
            // The caller gave up (cancelled): the connection goes to the next caller, or is closed.
            if (!accepted(entry.connection)) {
                observer.acceptRefused(listener);
                entry.connection.close();
            }
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
