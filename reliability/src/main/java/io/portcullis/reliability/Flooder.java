package io.portcullis.reliability;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Connection attempts in one burst, nonblocking, from one thread: each target port gets its attempts from
 * 127.0.0.2 upwards; a connect not done within {@link #CONNECT_TIMEOUT_MS} is abandoned. Connections stay
 * open (reading and discarding) until the gateway ends them or {@link #close()}. Its own bounds: at most
 * {@link #MAX_CONNECTING} connects in flight and {@link #MAX_OPEN} sockets open.
 */
final class Flooder implements AutoCloseable {

    static final int CONNECT_TIMEOUT_MS = 3000;
    static final int MAX_CONNECTING = 1000;
    static final int MAX_OPEN = 8000;

    /** What became of the attempts on one target port. */
    static final class Tally {
        final AtomicInteger attempted = new AtomicInteger();
        /** Handshake done (accepted by the gateway or waiting in its accept queue). */
        final AtomicInteger connected = new AtomicInteger();
        /** Ended by the gateway after the handshake: a reset or a FIN. */
        final AtomicInteger closedByGateway = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        final AtomicInteger timedOut = new AtomicInteger();

        @Override
        public String toString() {
            return attempted + " attempted, " + connected + " connected, " + closedByGateway + " ended by the gateway, "
                    + refused + " refused, " + timedOut + " connect timeouts";
        }
    }

    private record Attempt(int index, Tally tally, long startNanos) {
    }

    private final int[] ports;
    private final Tally[] tallies;
    private final int sources;
    private final Selector selector;
    private final Thread thread;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger connecting = new AtomicInteger();
    private final AtomicInteger open = new AtomicInteger();
    /** Attempts from here on wait for {@link #release()}. */
    private volatile int limit;
    private volatile boolean stopped;

    /**
     * Starts the burst: attempt {@code i} goes to 127.0.0.1:{@code ports[i]} and is tallied in
     * {@code tallies[i]}; the attempts from {@code firstPhase} on wait for {@link #release()}.
     */
    Flooder(int[] ports, Tally[] tallies, int sources, int firstPhase) throws IOException {
        this.ports = ports;
        this.limit = Math.min(firstPhase, ports.length);
        this.tallies = tallies;
        this.sources = sources;
        this.selector = Selector.open();
        this.thread = new Thread(this::loop, "flooder");
        thread.setDaemon(true);
        thread.start();
    }

    /** All attempts of the phase made and none still connecting. */
    boolean settled() {
        return next.get() >= limit && connecting.get() == 0;
    }

    /** The second phase: the remaining attempts. */
    void release() {
        limit = ports.length;
        selector.wakeup();
    }

    /** Sockets of this flooder open now. */
    int open() {
        return open.get();
    }

    private void loop() {
        ByteBuffer sink = ByteBuffer.allocate(4096);
        List<SelectionKey> expired = new ArrayList<>();
        try {
            while (!stopped) {
                while (next.get() < limit && connecting.get() < MAX_CONNECTING && open.get() < MAX_OPEN) {
                    start(next.getAndIncrement());
                }
                selector.select(10);
                for (SelectionKey k : selector.selectedKeys()) {
                    handle(k, sink);
                }
                selector.selectedKeys().clear();
                long now = System.nanoTime();
                expired.clear();
                for (SelectionKey k : selector.keys()) {
                    if (k.isValid() && k.attachment() instanceof Attempt a && (k.interestOps() & SelectionKey.OP_CONNECT) != 0
                            && now - a.startNanos() > TimeUnit.MILLISECONDS.toNanos(CONNECT_TIMEOUT_MS)) {
                        expired.add(k);
                    }
                }
                for (SelectionKey k : expired) {
                    ((Attempt) k.attachment()).tally().timedOut.incrementAndGet();
                    connecting.decrementAndGet();
                    close(k);
                }
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("flooder: " + e);
        }
    }

    private void start(int i) {
        Tally t = tallies[i];
        t.attempted.incrementAndGet();
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open();
            open.incrementAndGet();
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
            ch.bind(new InetSocketAddress(Net.loopback(2 + i % sources), 0));
            Attempt a = new Attempt(i, t, System.nanoTime());
            if (ch.connect(new InetSocketAddress(Net.LOOPBACK, ports[i]))) {
                t.connected.incrementAndGet();
                ch.register(selector, SelectionKey.OP_READ, a);
            } else {
                connecting.incrementAndGet();
                ch.register(selector, SelectionKey.OP_CONNECT, a);
            }
        } catch (IOException e) {
            t.refused.incrementAndGet();
            if (ch != null) {
                closeQuietly(ch);
            }
        }
    }

    private void handle(SelectionKey k, ByteBuffer sink) {
        if (!k.isValid()) {
            return;
        }
        Attempt a = (Attempt) k.attachment();
        SocketChannel ch = (SocketChannel) k.channel();
        if (k.isConnectable()) {
            connecting.decrementAndGet();
            try {
                ch.finishConnect();
                a.tally().connected.incrementAndGet();
                k.interestOps(SelectionKey.OP_READ);
            } catch (IOException e) {
                a.tally().refused.incrementAndGet();
                close(k);
            }
            return;
        }
        if (k.isReadable()) {
            try {
                sink.clear();
                if (ch.read(sink) >= 0) {
                    return;
                }
            } catch (IOException e) {
                // a reset: ended by the gateway as well
            }
            a.tally().closedByGateway.incrementAndGet();
            close(k);
        }
    }

    private void close(SelectionKey k) {
        k.cancel();
        closeQuietly((SocketChannel) k.channel());
    }

    private void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // closing anyway
        }
        open.decrementAndGet();
    }

    /** Stops the burst and closes every socket still open (a FIN each). */
    @Override
    public void close() throws InterruptedException {
        stopped = true;
        selector.wakeup();
        thread.join(10_000);
        for (SelectionKey k : selector.keys()) {
            closeQuietly((SocketChannel) k.channel());
        }
        try {
            selector.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
