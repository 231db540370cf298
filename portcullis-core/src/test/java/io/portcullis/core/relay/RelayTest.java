package io.portcullis.core.relay;

import io.portcullis.core.InspectRequest;
import io.portcullis.core.InspectAction;
import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.portcullis.core.demo.EchoServer;
import io.portcullis.core.EventLoops;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.BlockingServer;
import io.portcullis.core.testing.TestClient;
import io.portcullis.core.testing.TestTransports;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The relay end to end on loopback: client socket → {@link Listener} → {@link RelayAcceptHandler} →
 * backend ({@link EchoServer} or a hand-driven {@link BlockingServer}), on both transports.
 *
 * <p>{@link #halfCloseUnderBackpressureDeliversEverything} covers a FIN followed by megabytes of
 * backpressured echo, which stock Netty 4.2.13+ epoll fails (see EpollRegistrations).
 */
class RelayTest {

    private static final TestTransports TRANSPORTS = new TestTransports(2);
    /** The default transport here, for tests that need only one. */
    private static final EventLoops AUTO = TRANSPORTS.auto();
    private static final EventLoops NIO = TRANSPORTS.loops("nio");
    private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "relay-test");
        t.setDaemon(true);
        return t;
    });
    private static final Duration DEADLINE = RelayUnderTest.DEADLINE;

    private final RecordingRelayObserver observer = new RecordingRelayObserver();
    private final RelayUnderTest relay = new RelayUnderTest(observer);

    static Stream<String> transports() {
        return TestTransports.labels();
    }

    private static EventLoops loops(String transport) {
        return TRANSPORTS.loops(transport);
    }

    @AfterEach
    void tearDown() throws Exception {
        relay.close();
    }

    @AfterAll
    static void shutdown() {
        THREADS.shutdownNow();
        TRANSPORTS.close();
    }

    // ---- payload helpers

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static CompletableFuture<Void> writeAsync(TestClient client, byte[] data, boolean thenShutdown) {
        return CompletableFuture.runAsync(() -> {
            try {
                for (int off = 0; off < data.length; off += 65536) {
                    client.write(data, off, Math.min(65536, data.length - off));
                }
                if (thenShutdown) {
                    client.shutdownOutput();
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, THREADS);
    }

    // ---- payloads

    @ParameterizedTest
    @MethodSource("transports")
    void fourMegabytesEchoByteIdentical(String transport) throws Exception {
        relay.on(loops(transport)).echo().start();
        byte[] payload = random(4 << 20, 42);

        TestClient client = relay.client();
        CompletableFuture<Void> writer = writeAsync(client, payload, false);
        byte[] echoed = client.readExactly(payload.length, DEADLINE);
        writer.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        client.shutdownOutput();
        client.expectEof(DEADLINE);

        assertThat(Arrays.equals(echoed, payload)).as("echo is byte-identical").isTrue();
        relay.awaitAllClosed();
        assertThat(observer.upstream.get()).isEqualTo(payload.length);
        assertThat(observer.downstream.get()).isEqualTo(payload.length);
        assertThat(observer.listeners).containsOnly("relay-test");
    }

    @ParameterizedTest
    @MethodSource("transports")
    void manyConcurrentClientsEachGetTheirOwnBytesBack(String transport) throws Exception {
        relay.on(loops(transport)).echo().echo().balance(Balance.LEAST_CONNECTIONS).start();
        EchoServer one = relay.echoServer(0);
        EchoServer two = relay.echoServer(1);
        int clients = 40;
        int size = 200_000;

        List<CompletableFuture<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            byte[] payload = random(size, i);
            TestClient client = relay.client();
            CompletableFuture<Void> writer = writeAsync(client, payload, false);
            results.add(CompletableFuture.supplyAsync(() -> {
                try {
                    byte[] echoed = client.readExactly(size, DEADLINE);
                    writer.join();
                    client.shutdownOutput();
                    client.expectEof(DEADLINE);
                    return Arrays.equals(echoed, payload);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, THREADS));
        }
        for (CompletableFuture<Boolean> r : results) {
            assertThat(r.get(DEADLINE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        }
        relay.awaitAllClosed();
        assertThat(one.acceptedCount() + two.acceptedCount()).isEqualTo(clients);
        assertThat(one.acceptedCount()).isBetween(10L, 30L);
        assertThat(observer.upstream.get()).isEqualTo((long) clients * size);
        assertThat(observer.downstream.get()).isEqualTo((long) clients * size);
    }

    /**
     * The client sends 48 MiB and first does not read at all, then reads slowly. Backpressure must reach
     * the client's writer through the relay and the echo server, and the relay must never hold more than
     * its water mark plus one read buffer per side; the stream must then finish without a stall.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void slowReaderKeepsRelayBuffersBoundedAndDoesNotStall(String transport) throws Exception {
        relay.on(loops(transport)).echo().start();
        long total = pastKernelBuffers();
        TestClient client = relay.client(16 * 1024);
        AtomicLong written = new AtomicLong();
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            byte[] chunk = new byte[65536];
            try {
                for (long off = 0; off < total; off += chunk.length) {
                    fillPattern(chunk, off);
                    client.write(chunk);
                    written.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, THREADS);

        RelaySide side = relay.nextRelay();
        await().atMost(DEADLINE).until(() -> side.peerChannel() != null);
        Channel clientChannel = side.channel();
        Channel backendChannel = side.peerChannel();
        AtomicLong maxPending = new AtomicLong();
        AtomicBoolean clientSideUnwritable = new AtomicBoolean();
        AtomicLong maxAllocated = new AtomicLong();
        long allocatedBefore = allocated();
        ScheduledExecutorService sampler = relay.track(new ClosableScheduler()).scheduler;
        sampler.scheduleAtFixedRate(() -> {
            maxPending.accumulateAndGet(Math.max(pending(clientChannel), pending(backendChannel)), Math::max);
            if (clientChannel.isActive() && !clientChannel.isWritable()) {
                clientSideUnwritable.set(true);
            }
            maxAllocated.accumulateAndGet(allocated(), Math::max);
        }, 0, 2, TimeUnit.MILLISECONDS);

        // Not reading at all: every buffer on the way fills, then the writer must block.
        AtomicLong lastSeen = new AtomicLong(-1);
        await().atMost(DEADLINE).pollInterval(Duration.ofMillis(300))
                .until(() -> written.get() == lastSeen.getAndSet(written.get()));
        assertThat(written.get()).as("the writer is held back").isLessThan(total);
        assertThat(clientSideUnwritable).as("the relay's client side hit its water mark").isTrue();

        // Now read slowly, verifying every byte.
        byte[] buf = new byte[32 * 1024];
        long read = 0;
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        byte[] expected = new byte[buf.length];
        while (read < total) {
            assertThat(System.nanoTime()).as("slow read finished in time (stall?)").isLessThan(end);
            int n = client.readSome(buf, buf.length, DEADLINE);
            assertThat(n).as("no EOF before all bytes").isPositive();
            fillPattern(expected, read);
            // fillPattern is positional, so compare the n bytes just read against the pattern at `read`.
            assertThat(Arrays.equals(buf, 0, n, expected, 0, n)).as("bytes at offset %d", read).isTrue();
            read += n;
            Thread.sleep(0, 200_000);
        }
        writer.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        client.shutdownOutput();
        client.expectEof(DEADLINE);
        relay.awaitAllClosed();

        // Past the high mark by one read at most, plus the 96 bytes Netty counts per queued message on top of its
        // bytes (a read may be queued in several pieces).
        long bound = RelayAcceptHandler.WATER_MARK.high() + 65536 + 16 * 96;
        assertThat(maxPending.get()).as("most bytes queued in a relay channel").isPositive().isLessThanOrEqualTo(bound);
        if (allocatedBefore >= 0) {
            assertThat(maxAllocated.get() - allocatedBefore).as("allocator growth").isLessThan(8L << 20);
        }
    }

    /**
     * More bytes than every socket buffer on the echo path can hold (four hops, each a send and a receive buffer
     * the kernel may grow to its tcp_wmem and tcp_rmem maxima; 32 MiB receive buffers are common), so that only
     * the relay's backpressure can hold the writer back: at least 48 MiB, in whole 64 KiB chunks.
     */
    private static long pastKernelBuffers() {
        long perHop = 0;
        for (String sysctl : new String[] {"tcp_rmem", "tcp_wmem"}) {
            try {
                String[] fields = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/net/ipv4", sysctl))
                        .trim().split("\\s+");
                perHop += Long.parseLong(fields[fields.length - 1]);
            } catch (IOException | RuntimeException e) {
                perHop += 8L << 20;
            }
        }
        long bytes = Math.max(48L << 20, 4 * perHop + (8L << 20));
        return (bytes + 65535) / 65536 * 65536;
    }

    // ---- half-close

    @ParameterizedTest
    @MethodSource("transports")
    void clientHalfCloseStillReceivesTheEchoThenEof(String transport) throws Exception {
        relay.on(loops(transport)).echo().start();
        byte[] payload = random(60_000, 7);

        TestClient client = relay.client();
        client.write(payload);
        client.shutdownOutput();
        assertThat(client.readExactly(payload.length, DEADLINE)).isEqualTo(payload);
        client.expectEof(DEADLINE);
        relay.awaitAllClosed();
    }

    @ParameterizedTest
    @MethodSource("transports")
    void backendHalfCloseReachesTheClientWhileTheClientKeepsSending(String transport) throws Exception {
        relay.on(loops(transport)).blockingServer().start();

        TestClient client = relay.client();
        TestClient backend = relay.acceptBackend();
        backend.write("hello\n".getBytes(StandardCharsets.US_ASCII));
        backend.shutdownOutput();
        assertThat(new String(client.readExactly(6), StandardCharsets.US_ASCII)).isEqualTo("hello\n");
        client.expectEof(DEADLINE);

        byte[] upstream = random(50_000, 11);
        client.write(upstream);
        assertThat(backend.readExactly(upstream.length, DEADLINE)).isEqualTo(upstream);
        client.shutdownOutput();
        backend.expectEof(DEADLINE);
        relay.awaitAllClosed();
        assertThat(observer.upstream.get()).isEqualTo(upstream.length);
        assertThat(observer.downstream.get()).isEqualTo(6);
    }

    /** The client sends 8 MiB and its FIN at once, then reads slowly: the FIN waits behind every byte. */
    @ParameterizedTest
    @MethodSource("transports")
    void halfCloseUnderBackpressureDeliversEverything(String transport) throws Exception {
        relay.on(loops(transport)).echo().start();
        byte[] payload = random(8 << 20, 5);
        TestClient client = relay.client(16 * 1024);
        CompletableFuture<Void> writer = writeAsync(client, payload, true);

        Thread.sleep(500);
        byte[] echoed = client.readExactly(payload.length, Duration.ofSeconds(60));
        client.expectEof(DEADLINE);
        writer.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(Arrays.equals(echoed, payload)).as("echo is byte-identical").isTrue();
        relay.awaitAllClosed();
    }

    // ---- resets

    @ParameterizedTest
    @MethodSource("transports")
    void clientResetResetsTheBackend(String transport) throws Exception {
        relay.on(loops(transport)).blockingServer().start();

        TestClient client = relay.client();
        aResetReachesThePeer(client, relay.acceptBackend(), 1);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void backendResetResetsTheClient(String transport) throws Exception {
        relay.on(loops(transport)).blockingServer().start();

        TestClient client = relay.client();
        aResetReachesThePeer(relay.acceptBackend(), client, 2);
    }

    /** {@code b} from {@code resetting} reaches {@code peer}; then {@code resetting} resets, and so is {@code peer}. */
    private void aResetReachesThePeer(TestClient resetting, TestClient peer, int b) throws Exception {
        resetting.write(new byte[] {(byte) b});
        assertThat(peer.readExactly(1)).containsExactly(b);
        resetting.reset();
        peer.expectReset(DEADLINE);
        relay.awaitAllClosed();
    }

    /**
     * A backend whose process dies sends a FIN when its receive queue was empty, then a reset for each byte
     * that arrives after. A client still sending must get a reset: the FIN alone would end its cut stream as
     * if it were complete ({@code read()} returns end of stream even after the reset).
     */
    @ParameterizedTest
    @MethodSource("transports")
    void backendFinThenResetWhileTheClientSendsResetsTheClient(String transport) throws Exception {
        relay.on(loops(transport)).blockingServer().start();
        TestClient client = relay.client();
        TestClient backend = relay.acceptBackend();
        CompletableFuture<Void> stream = streamUntilStopped(client, new AtomicBoolean());

        backend.readExactly(64 * 1024, DEADLINE);
        backend.write("partial".getBytes(StandardCharsets.US_ASCII));
        backend.shutdownOutput();
        // Read before the reset: a reset may discard what the client had not read yet.
        assertThat(new String(client.readExactly(7, DEADLINE), StandardCharsets.US_ASCII)).isEqualTo("partial");
        backend.readExactly(16 * 1024, DEADLINE);
        backend.reset();

        AssertionError readEnd = null;
        try {
            client.expectReset(DEADLINE);
        } catch (AssertionError e) {
            readEnd = e;
        }
        Throwable writeEnd = stream.handle((v, e) -> e).get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        if (readEnd != null) {
            // Linux reports a reset to one call only: the writer may take it and leave the reader an end of
            // stream. ECONNRESET ("reset") means no FIN came first; after a FIN it would be EPIPE.
            Throwable root = writeEnd;
            while (root != null && root.getCause() != null) {
                root = root.getCause();
            }
            assertThat(root).as("%s; and the writer", readEnd.getMessage()).isNotNull();
            assertThat(root.getMessage()).as("%s; and the writer", readEnd.getMessage()).containsIgnoringCase("reset");
        }
        relay.awaitAllClosed();
    }

    /** A backend that half-closes while the client keeps sending: its FIN is held at most for a bound. */
    @ParameterizedTest
    @MethodSource("transports")
    void backendHalfCloseWhileTheClientStreamsReachesTheClientWithinTheHoldBound(String transport) throws Exception {
        relay.on(loops(transport)).blockingServer().start();
        TestClient client = relay.client();
        TestClient backend = relay.acceptBackend();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong drained = new AtomicLong();
        CompletableFuture<Void> stream = streamUntilStopped(client, stop);
        CompletableFuture<Void> drain = CompletableFuture.runAsync(() -> {
            byte[] buf = new byte[65536];
            try {
                int n;
                while ((n = backend.readSome(buf, buf.length, DEADLINE)) >= 0) {
                    drained.addAndGet(n);
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, THREADS);

        backend.write("done".getBytes(StandardCharsets.US_ASCII));
        backend.shutdownOutput();
        long start = System.nanoTime();
        assertThat(new String(client.readExactly(4, DEADLINE), StandardCharsets.US_ASCII)).isEqualTo("done");
        client.expectEof(DEADLINE);
        long heldMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(heldMillis).as("FIN held no longer than the bound").isLessThan(3_000);

        long before = drained.get();
        await().atMost(DEADLINE).until(() -> drained.get() > before + 65536);
        stop.set(true);
        stream.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        client.shutdownOutput();
        drain.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        relay.awaitAllClosed();
    }

    /**
     * A backend that answers and closes while the client may still send: its FIN is held until the client's bytes
     * settle. A client that then half-closes (as wrk and most HTTP clients close after the answer) has sent all it
     * will: where TCP_INFO shows every byte acknowledged, both ends are finished at once rather than at the settle
     * timer ({@link Relay#FIN_SETTLE_NANOS} from the client's last byte), which kept both sockets open that long. The
     * median of 15 exchanges is compared with half of it, so one slow exchange on a loaded machine does not decide.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void clientHalfCloseAfterTheAnswerEndsAHeldBackendFinWithoutTheSettleWait(String transport) throws Exception {
        assumeTrue(!transport.equals("nio"), "NIO has no TCP_INFO: it waits the settle time by design");
        relay.on(loops(transport)).blockingServer().start();
        long[] took = new long[15];
        for (int i = 0; i < took.length; i++) {
            TestClient client = relay.client();
            TestClient backend = relay.acceptBackend();
            client.write(new byte[] {'Q', (byte) i});
            assertThat(backend.readExactly(2, DEADLINE)).containsExactly('Q', i);
            backend.write(new byte[] {'A', (byte) i});
            backend.shutdownOutput();
            assertThat(client.readExactly(2, DEADLINE)).containsExactly('A', i);
            long start = System.nanoTime();
            client.shutdownOutput();
            backend.expectEof(DEADLINE);
            client.expectEof(DEADLINE);
            took[i] = System.nanoTime() - start;
            client.close();
            backend.close();
        }
        Arrays.sort(took);
        assertThat(took[took.length / 2]).as("median nanoseconds from the client's FIN to both ends' end of stream, of %s",
                Arrays.toString(took)).isLessThan(Relay.FIN_SETTLE_NANOS / 2);
        relay.awaitAllClosed();
    }

    /**
     * Writes 16 KiB chunks back to back until {@code stop}, a write fails, or a minute: no pause in which the relay
     * could find the backend settled, however loaded the machine. Bounded by time, not bytes: a fast machine moved
     * a 1 GiB cap through loopback before the tests that stream on had looked, and the stream seemed stuck.
     */
    private static CompletableFuture<Void> streamUntilStopped(TestClient client, AtomicBoolean stop) {
        return CompletableFuture.runAsync(() -> {
            byte[] chunk = random(16 * 1024, 3);
            long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            try {
                while (!stop.get() && System.nanoTime() < end) {
                    client.write(chunk);
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, THREADS);
    }

    // ---- failover

    @ParameterizedTest
    @MethodSource("transports")
    void refusedBackendFailsOverToTheNext(String transport) throws Exception {
        Listener gateway = relay.on(loops(transport)).refusing().echo().start();
        EchoServer echo = relay.echoServer(0);

        for (int i = 0; i < 4; i++) {
            try (TestClient client = TestClient.connect(gateway.localAddress())) {
                client.write(("ping" + i).getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(client.readExactly(5), StandardCharsets.US_ASCII)).isEqualTo("ping" + i);
            }
        }
        relay.awaitAllClosed();
        assertThat(echo.acceptedCount()).isEqualTo(4);
        // Round-robin starts at the dead backend every other connection.
        assertThat(observer.failedBackends).containsExactly(relay.pool().label(0), relay.pool().label(0));
        assertThat(observer.allFailed.get()).isZero();
    }

    @Test
    void backendThatDoesNotAnswerTimesOutAndTheNextIsTried() throws Exception {
        relay.on(AUTO).blackhole().echo().connectTimeout(Duration.ofMillis(300)).start();

        long start = System.nanoTime();
        TestClient client = relay.client();
        client.write("late".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(client.readExactly(4), StandardCharsets.US_ASCII)).isEqualTo("late");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(290));
        assertThat(observer.failedBackends).containsExactly(relay.pool().label(0));
        client.close();
        relay.awaitAllClosed();
    }

    @ParameterizedTest
    @MethodSource("transports")
    void allBackendsDownClosesTheClientAndCountsIt(String transport) throws Exception {
        relay.on(loops(transport)).refusing().refusing().start();

        TestClient client = relay.client();
        client.write("anyone?".getBytes(StandardCharsets.US_ASCII));
        client.expectClosed(DEADLINE);
        relay.awaitAllClosed();
        assertThat(observer.allFailed.get()).isEqualTo(1);
        assertThat(observer.failedBackends).containsExactly(relay.pool().label(0), relay.pool().label(1));
    }

    /**
     * A backend socket that cannot even be made (socket() fails: EMFILE, the open-files limit reached): Netty
     * fails the connect at once, on its global executor, with a closed stand-in channel. The next backend is tried.
     */
    @Test
    void backendSocketThatCannotBeMadeFailsOverToTheNext() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        Listener gateway = relay.on(AUTO).echo().echo().connector(socketFails(AUTO, () -> attempts.getAndIncrement() == 0))
                .start();

        try (TestClient client = TestClient.connect(gateway.localAddress())) {
            client.write("after EMFILE".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(client.readExactly(12), StandardCharsets.US_ASCII)).isEqualTo("after EMFILE");
        }
        relay.awaitAllClosed();
        assertThat(observer.failedBackends).containsExactly(relay.pool().label(0));
        assertThat(observer.allFailed.get()).isZero();
        assertThat(relay.pool().active(0)).isZero();
    }

    /** The same for every backend: the client is closed and counted as having no backend, not left open. */
    @Test
    void noBackendSocketCanBeMadeClosesTheClientAndCountsIt() throws Exception {
        relay.on(AUTO).echo().connector(socketFails(AUTO, () -> true)).start();

        TestClient client = relay.client();
        client.write("anyone?".getBytes(StandardCharsets.US_ASCII));
        client.expectClosed(Duration.ofSeconds(5));
        relay.awaitAllClosed();
        assertThat(observer.allFailed.get()).isEqualTo(1);
        assertThat(observer.failedBackends).containsExactly(relay.pool().label(0));
        assertThat(relay.pool().active(0)).isZero();
    }

    /** Bootstraps as the relay's own, whose channel cannot be made while {@code fails} says so. */
    private static BackendConnector socketFails(EventLoops loops, java.util.function.BooleanSupplier fails) {
        return (loop, handler, backend) -> {
            Bootstrap b = new Bootstrap().group(loop).handler(handler)
                    .option(ChannelOption.AUTO_READ, false)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true);
            if (fails.getAsBoolean()) {
                b.channelFactory(() -> {
                    throw new ChannelException("socket(..) failed: Too many open files");
                });
            } else {
                b.channel(loops.channelType());
            }
            return b.connect(backend);
        };
    }

    @Test
    void clientLeavingWhileTheBackendConnectIsInFlightClosesTheBackendChannel() throws Exception {
        relay.on(NIO).blackhole().connectTimeout(Duration.ofSeconds(30)).start();

        TestClient client = relay.client();
        RelaySide side = relay.nextRelay();
        Channel backendChannel = side.relay().backendChannel();
        assertThat(backendChannel).isNotNull();
        assertThat(relay.pool().active(0)).isEqualTo(1);
        client.close();

        await().atMost(Duration.ofSeconds(5)).until(() -> !backendChannel.isOpen());
        relay.awaitAllClosed();
        assertThat(observer.failedBackends).isEmpty();
        assertThat(observer.allFailed.get()).isZero();
    }

    /** A reset right after bytes, the connect in flight: the attempt ends at once, not at the connect timeout. */
    @ParameterizedTest
    @MethodSource("transports")
    void clientResetWhileConnectingClosesTheBackendChannel(String transport) throws Exception {
        relay.on(loops(transport)).blackhole().connectTimeout(Duration.ofSeconds(30)).start();

        TestClient client = relay.client();
        client.write("half a request".getBytes(StandardCharsets.US_ASCII));
        RelaySide side = relay.nextRelay();
        Channel backendChannel = side.relay().backendChannel();
        client.reset();

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(side.relay().state()).as("relay state").isEqualTo(Relay.State.CLOSED);
            assertThat(side.channel().isOpen()).as("client channel open").isFalse();
            assertThat(backendChannel.isOpen()).as("backend channel open").isFalse();
        });
        relay.awaitAllClosed();
    }

    /** A request and its FIN sent while the connect is in flight: a half-close, not a client leaving. */
    @Test
    void requestAndFinSentWhileConnectingAreDeliveredAndAnswered() throws Exception {
        relay.on(NIO).blackhole().echo().connectTimeout(Duration.ofMillis(300)).start();

        TestClient client = relay.client();
        client.write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        client.shutdownOutput();
        assertThat(new String(client.readExactly(18, DEADLINE), StandardCharsets.US_ASCII)).isEqualTo("GET / HTTP/1.0\r\n\r\n");
        client.expectEof(DEADLINE);
        assertThat(observer.failedBackends).containsExactly(relay.pool().label(0));
        relay.awaitAllClosed();
    }

    // ---- balancing through the gateway

    @Test
    void sourceHashSendsAClientToTheSameBackendEveryTime() throws Exception {
        Listener gateway = relay.on(AUTO).echo().echo().balance(Balance.SOURCE_HASH).start();
        EchoServer one = relay.echoServer(0);
        EchoServer two = relay.echoServer(1);

        for (int i = 0; i < 6; i++) {
            try (TestClient client = TestClient.connect(loopback(2), gateway.localAddress())) {
                client.write(new byte[] {(byte) i});
                assertThat(client.readExactly(1)).containsExactly((byte) i);
            }
        }
        relay.awaitAllClosed();
        assertThat(List.of(one.acceptedCount(), two.acceptedCount())).containsExactlyInAnyOrder(0L, 6L);
    }

    @Test
    void leastConnectionsAvoidsTheBusyBackend() throws Exception {
        Listener gateway = relay.on(AUTO).echo().echo().balance(Balance.LEAST_CONNECTIONS).start();
        EchoServer one = relay.echoServer(0);
        EchoServer two = relay.echoServer(1);

        TestClient held = relay.client();
        held.write(new byte[] {1});
        held.readExactly(1);
        int busy = one.acceptedCount() == 1 ? 0 : 1;
        for (int i = 0; i < 3; i++) {
            try (TestClient client = TestClient.connect(gateway.localAddress())) {
                client.write(new byte[] {2});
                client.readExactly(1);
            }
            await().atMost(DEADLINE).until(() -> observer.closed.get() == observer.opened.get() - 1);
        }
        assertThat(busy == 0 ? one.acceptedCount() : two.acceptedCount()).isEqualTo(1);
        assertThat(busy == 0 ? two.acceptedCount() : one.acceptedCount()).isEqualTo(3);
        held.close();
        relay.awaitAllClosed();
    }

    @Test
    void hostNameBackendIsResolvedWithoutBlocking() throws Exception {
        relay.on(NIO).echoNamed("localhost").start();

        TestClient client = relay.client();
        client.write("named".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(client.readExactly(5), StandardCharsets.US_ASCII)).isEqualTo("named");
        client.close();
        relay.awaitAllClosed();
    }

    // ---- idle timeout

    @ParameterizedTest
    @MethodSource("transports")
    void idleRelayIsClosedButTrafficKeepsItOpen(String transport) throws Exception {
        relay.on(loops(transport)).echo().idleTimeout(Duration.ofMillis(400)).start();

        TestClient client = relay.client();
        trafficKeepsTheRelayThenQuietClosesIt(client, client);
        await().atMost(DEADLINE).until(() -> relay.echoServer(0).openCount() == 0);
    }

    /**
     * With a 400 ms idle timeout: six bytes from {@code sender}, 150 ms apart (900 ms in all), each reaching
     * {@code client}, keep the relay open; then it closes after the timeout of quiet.
     */
    private void trafficKeepsTheRelayThenQuietClosesIt(TestClient sender, TestClient client) throws Exception {
        for (int i = 0; i < 6; i++) {
            Thread.sleep(150);
            sender.write(new byte[] {(byte) i});
            assertThat(client.readExactly(1)).containsExactly((byte) i);
        }
        long quietSince = System.nanoTime();
        client.expectEof(Duration.ofSeconds(5));
        assertThat(Duration.ofNanos(System.nanoTime() - quietSince)).isGreaterThanOrEqualTo(Duration.ofMillis(350));
        relay.awaitAllClosed();
    }

    /** Traffic one way only, from the backend, is traffic too: a server that pushes keeps its relay. */
    @ParameterizedTest
    @MethodSource("transports")
    void backendPushAloneKeepsTheRelayOpen(String transport) throws Exception {
        relay.on(loops(transport)).blockingServer().idleTimeout(Duration.ofMillis(400)).start();

        TestClient client = relay.client();
        TestClient backend = relay.track(relay.acceptBackend());
        trafficKeepsTheRelayThenQuietClosesIt(backend, client); // the client never writes
    }

    /**
     * Clients that reset right after sending, to a backend that never answers: every relay ends at once, on every
     * transport (the idle timeout is a minute).
     */
    @ParameterizedTest
    @MethodSource("transports")
    void clientResetsRightAfterBytesEndTheirRelays(String transport) throws Exception {
        ServerSocket silent = new ServerSocket(0, 200, loopback(1));
        List<Socket> held = new CopyOnWriteArrayList<>();
        THREADS.execute(() -> {
            try {
                while (true) {
                    held.add(silent.accept()); // accepted, never read from or answered
                }
            } catch (IOException closed) {
                // the test is over
            }
        });
        relay.track(() -> {
            silent.close();
            for (Socket s : held) {
                s.close();
            }
        });
        Duration idle = Duration.ofMinutes(1);
        Listener gateway = relay.on(loops(transport)).backend(new InetSocketAddress(loopback(1), silent.getLocalPort()))
                .idleTimeout(idle).start();

        int clients = 60;
        for (int i = 0; i < clients; i++) {
            TestClient client = TestClient.connect(gateway.localAddress());
            client.write("half a request".getBytes(StandardCharsets.US_ASCII));
            int relay = i + 1;
            await().atMost(DEADLINE).pollInterval(Duration.ofMillis(2)).until(() -> observer.opened.get() == relay);
            client.reset();
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(observer.opened.get()).isEqualTo(clients);
            assertThat(observer.closed.get()).as("relays ended").isEqualTo(clients);
        });
        relay.awaitAllClosed();
    }

    /** Small writes must not wait on Nagle: both sockets of a relay have TCP_NODELAY (the transports' default). */
    @ParameterizedTest
    @MethodSource("transports")
    void bothSocketsOfARelayHaveNoDelay(String transport) throws Exception {
        relay.on(loops(transport)).echo().start();

        TestClient client = relay.client();
        client.write(new byte[] {7});
        assertThat(client.readExactly(1)).containsExactly((byte) 7);
        RelaySide side = relay.nextRelay();
        assertThat(side.channel().config().getOption(ChannelOption.TCP_NODELAY)).as("client socket").isTrue();
        assertThat(side.peerChannel().config().getOption(ChannelOption.TCP_NODELAY)).as("backend socket").isTrue();
    }

    // ---- early data

    /**
     * The client sends before its pended inspection is accepted: more than the listener holds (so part
     * waits in the kernel), then more while the backend connect is in flight. All of it reaches the
     * backend in order, and nothing reaches it before the accept.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void earlyDataArrivesFirstAndIntact(String transport) throws Exception {
        Listener gateway = relay.on(loops(transport)).echo().pendEveryone().start();
        byte[] early = random(40_000, 1);
        byte[] late = random(24_000, 2);

        TestClient client = relay.client();
        client.write(early);
        InspectRequest request = relay.nextPended();
        Thread.sleep(200);
        assertThat(relay.echoServer(0).acceptedCount()).as("no backend before the accept").isZero();
        assertThat(gateway.inspectComplete(request.id(), InspectAction.ACCEPT)).isTrue();
        client.write(late);

        byte[] echoed = client.readExactly(early.length + late.length, DEADLINE);
        assertThat(Arrays.copyOfRange(echoed, 0, early.length)).isEqualTo(early);
        assertThat(Arrays.copyOfRange(echoed, early.length, echoed.length)).isEqualTo(late);
        client.shutdownOutput();
        client.expectEof(DEADLINE);
        relay.awaitAllClosed();
        assertThat(observer.upstream.get()).isEqualTo(early.length + late.length);
    }

    /** Small early data leaves the listener's read in flight; bytes it brings while connecting follow it. */
    @Test
    void bytesReadWhileConnectingFollowTheEarlyData() throws Exception {
        Listener gateway = relay.on(AUTO).blackhole().echo().connectTimeout(Duration.ofMillis(500)).pendEveryone().start();
        byte[] early = random(1_000, 3);
        byte[] duringConnect = random(3_000, 4);

        TestClient client = relay.client();
        client.write(early);
        InspectRequest request = relay.nextPended();
        Thread.sleep(100);
        gateway.inspectComplete(request.id(), InspectAction.ACCEPT);
        Thread.sleep(100);
        client.write(duringConnect); // the first backend is still not answering

        byte[] echoed = client.readExactly(early.length + duringConnect.length, DEADLINE);
        assertThat(Arrays.copyOfRange(echoed, 0, early.length)).isEqualTo(early);
        assertThat(Arrays.copyOfRange(echoed, early.length, echoed.length)).isEqualTo(duringConnect);
        assertThat(observer.failedBackends).containsExactly(relay.pool().label(0));
        client.close();
        relay.awaitAllClosed();
    }

    // ---- helpers

    /** A position-keyed byte stream: any lost, repeated or reordered block shows. */
    private static void fillPattern(byte[] buf, long offset) {
        for (int i = 0; i < buf.length; i++) {
            long z = (offset + i) * 0x9E3779B97F4A7C15L;
            z ^= z >>> 31;
            buf[i] = (byte) (z >>> 24);
        }
    }

    private static long pending(Channel ch) {
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    /** Bytes the default allocator holds now, or -1 where it does not say. */
    private static long allocated() {
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p) {
            ByteBufAllocatorMetric m = p.metric();
            return m.usedDirectMemory() + m.usedHeapMemory();
        }
        return -1;
    }

    private static final class ClosableScheduler implements AutoCloseable {
        final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

        @Override
        public void close() {
            scheduler.shutdownNow();
        }
    }
}
