package io.portcullis.core.relay;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Counts what relays report, for assertions; thread-safe. */
final class RecordingRelayObserver implements RelayObserver {

    final AtomicLong upstream = new AtomicLong();
    final AtomicLong downstream = new AtomicLong();
    final AtomicInteger opened = new AtomicInteger();
    final AtomicInteger closed = new AtomicInteger();
    final AtomicInteger allFailed = new AtomicInteger();
    final List<String> failedBackends = new CopyOnWriteArrayList<>();
    final List<String> listeners = new CopyOnWriteArrayList<>();
    final List<String> health = new CopyOnWriteArrayList<>();

    @Override
    public void backendHealth(String listener, String backend, boolean up) {
        health.add(backend + (up ? " up" : " down"));
    }

    @Override
    public void bytes(String listener, String direction, long n) {
        (direction.equals(UPSTREAM) ? upstream : downstream).addAndGet(n);
    }

    @Override
    public void connectionOpened(String listener) {
        listeners.add(listener);
        opened.incrementAndGet();
    }

    @Override
    public void connectionClosed(String listener) {
        closed.incrementAndGet();
    }

    @Override
    public void backendConnectFailed(String listener, String backend) {
        failedBackends.add(backend);
    }

    @Override
    public void allBackendsFailed(String listener) {
        allFailed.incrementAndGet();
    }
}
