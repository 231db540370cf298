package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.portcullis.core.testing.TestClient;
import io.portcullis.core.testing.TestTransports;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The conditional-accept model on real loopback sockets: 127.0.0.1 is accepted, 127.0.0.2 rejected,
 * 127.0.0.3 pended, on both transports.
 */
class ListenerTest {

    private static final Duration DEADLINE = Duration.ofSeconds(5);
    private static final InetAddress ACCEPTED = TestClient.loopback(1);
    private static final InetAddress REJECTED = TestClient.loopback(2);
    private static final InetAddress PENDED = TestClient.loopback(3);

    private static final TestTransports TRANSPORTS = new TestTransports(2);
    /** The default transport here, for tests that need only one. */
    private static final EventLoops AUTO = TRANSPORTS.auto();
    private static final EventLoops NIO = TRANSPORTS.loops("nio");

    private final List<Listener> listeners = new ArrayList<>();
    private final List<TestClient> sockets = new ArrayList<>();
    private final BlockingQueue<InspectRequest> pendedRequests = new LinkedBlockingQueue<>();
    private final Map<InspectId, AtomicInteger> aborts = new ConcurrentHashMap<>();
    private final List<AbortReason> abortReasons = new CopyOnWriteArrayList<>();
    private final CountingObserver observer = new CountingObserver();

    static Stream<String> transports() {
        return TestTransports.labels();
    }

    private static EventLoops loops(String transport) {
        return TRANSPORTS.loops(transport);
    }

    @AfterEach
    void tearDown() throws IOException {
        for (TestClient s : sockets) {
            s.close();
        }
        listeners.forEach(Listener::close);
    }

    @AfterAll
    static void shutdown() {
        TRANSPORTS.close();
    }

    /** accept from .1, reject from .2, pend from .3: the demo policy in code. */
    private InspectAction demoPolicy(InspectRequest request) {
        InetAddress source = request.source().getAddress();
        if (source.equals(REJECTED)) {
            return InspectAction.REJECT;
        }
        if (source.equals(PENDED)) {
            return InspectAction.PEND;
        }
        return InspectAction.ACCEPT;
    }

    private Listener.Builder builder(EventLoops loops) {
        return Listener.builder("test")
                .eventLoops(loops)
                .inspectHandler(new InspectHandler() {
                    @Override
                    public InspectAction inspect(InspectRequest request) {
                        return demoPolicy(request);
                    }

                    /** Where a decision would start: from here on the inspection can be completed. */
                    @Override
                    public void pended(InspectRequest request, io.portcullis.core.Verdict verdict) {
                        pendedRequests.add(request);
                    }
                })
                .abortHandler((id, reason) -> {
                    aborts.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
                    abortReasons.add(reason);
                })
                .observer(observer);
    }

    private Listener start(Listener.Builder builder) {
        Listener listener = builder.build().start();
        listeners.add(listener);
        return listener;
    }

    @ParameterizedTest
    @MethodSource("transports")
    void acceptedConnectionCarriesBytesBothWays(String transport) throws Exception {
        EventLoops loops = loops(transport);
        Listener listener = start(builder(loops));
        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        TestClient client = connect(listener, ACCEPTED);
        AcceptedConnection connection = accepted.get(5, TimeUnit.SECONDS);
        echo(connection);

        client.write("hello".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(client.readExactly(5), StandardCharsets.US_ASCII)).isEqualTo("hello");
        assertThat(connection.request().source().getAddress()).isEqualTo(ACCEPTED);
        assertThat(connection.request().listener()).isEqualTo("test");
        assertThat(observer.inspected.get(InspectAction.ACCEPT)).hasValue(1);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void rejectIsAResetWithNoData(String transport) throws Exception {
        EventLoops loops = loops(transport);
        Listener listener = start(builder(loops));
        TestClient.expectRejected(REJECTED, listener.localAddress(), DEADLINE);
        assertThat(observer.inspected.get(InspectAction.REJECT)).hasValue(1);
        assertThat(listener.accept()).isNotDone();
    }

    @ParameterizedTest
    @MethodSource("transports")
    void pendedBytesAreHeldUntilCompletionThenDeliveredIntact(String transport) throws Exception {
        EventLoops loops = loops(transport);
        Listener listener = start(builder(loops));
        TestClient client = connect(listener, PENDED);
        byte[] early = "early bytes before the verdict".getBytes(StandardCharsets.US_ASCII);
        client.write(early);
        InspectRequest request = pendedRequests.poll(5, TimeUnit.SECONDS);
        assertThat(request).isNotNull();
        await().atMost(Duration.ofSeconds(5)).until(() -> listener.pendingCount() == 1);

        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        Thread.sleep(200);
        assertThat(accepted).as("nothing is accepted before inspectComplete").isNotDone();
        assertThat(listener.pending()).extracting(p -> p.request().id()).containsExactly(request.id());

        assertThat(listener.inspectComplete(request.id(), InspectAction.ACCEPT, Completion.by("operator", "looks fine"))).isTrue();
        assertThat(listener.inspectComplete(request.id(), InspectAction.ACCEPT)).as("second completion").isFalse();
        AcceptedConnection connection = accepted.get(5, TimeUnit.SECONDS);
        echo(connection);
        assertThat(new String(client.readExactly(early.length), StandardCharsets.US_ASCII)).isEqualTo(new String(early, StandardCharsets.US_ASCII));
        client.write("later".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(client.readExactly(5), StandardCharsets.US_ASCII)).isEqualTo("later");
        assertThat(listener.pendingCount()).isZero();
        assertThat(aborts).isEmpty();
        assertThat(observer.pendEnded.get(PendOutcome.ACCEPT)).hasValue(1);
        assertThat(observer.ends).singleElement().satisfies(end -> {
            assertThat(end.request().id()).isEqualTo(request.id());
            assertThat(end.outcome()).isEqualTo("accept");
            assertThat(end.decidedBy()).isEqualTo("operator");
            assertThat(end.reason()).contains("looks fine");
            assertThat(end.pendNanos()).isPositive();
        });
    }

    @ParameterizedTest
    @MethodSource("transports")
    void completionWithRejectResets(String transport) throws Exception {
        EventLoops loops = loops(transport);
        Listener listener = start(builder(loops));
        TestClient client = connect(listener, PENDED);
        InspectRequest request = pendedRequests.poll(5, TimeUnit.SECONDS);
        assertThat(listener.inspectComplete(request.id(), InspectAction.REJECT)).isTrue();
        client.expectReset(DEADLINE);
        assertThat(aborts).isEmpty();
        assertThat(observer.pendEnded.get(PendOutcome.REJECT)).hasValue(1);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void deadlineAppliesOnTimeoutRejectAndAbortsOnce(String transport) throws Exception {
        EventLoops loops = loops(transport);
        Listener listener = start(builder(loops).inspectTimeout(Duration.ofMillis(200)).onTimeout(InspectAction.REJECT));
        TestClient client = connect(listener, PENDED);
        InspectRequest request = pendedRequests.poll(5, TimeUnit.SECONDS);
        client.expectReset(DEADLINE);
        await().atMost(Duration.ofSeconds(5)).until(() -> aborts.containsKey(request.id()));
        assertThat(abortReasons).containsExactly(AbortReason.TIMEOUT);
        assertThat(listener.inspectComplete(request.id(), InspectAction.ACCEPT)).isFalse();
        assertThat(observer.pendEnded.get(PendOutcome.TIMEOUT)).hasValue(1);
        assertThat(listener.pendingCount()).isZero();
        assertThat(observer.ends).singleElement().satisfies(end -> {
            assertThat(end.outcome()).isEqualTo("timeout");
            assertThat(end.decidedBy()).isEqualTo("timeout");
            assertThat(end.action()).contains(InspectAction.REJECT);
        });
    }

    @ParameterizedTest
    @MethodSource("transports")
    void deadlineAppliesOnTimeoutAccept(String transport) throws Exception {
        EventLoops loops = loops(transport);
        Listener listener = start(builder(loops).inspectTimeout(Duration.ofMillis(200)).onTimeout(InspectAction.ACCEPT));
        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        TestClient client = connect(listener, PENDED);
        client.write(new byte[] {'x'});
        AcceptedConnection connection = accepted.get(5, TimeUnit.SECONDS);
        echo(connection);
        assertThat(new String(client.readExactly(1), StandardCharsets.US_ASCII)).isEqualTo("x");
        assertThat(abortReasons).containsExactly(AbortReason.TIMEOUT);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void clientThatLeavesWhilePendedIsAbortedExactlyOnce(String transport) throws Exception {
        EventLoops loops = loops(transport);
        Listener listener = start(builder(loops).inspectTimeout(Duration.ofSeconds(30)));
        TestClient graceful = connect(listener, PENDED);
        InspectRequest first = pendedRequests.poll(5, TimeUnit.SECONDS);
        graceful.close();
        TestClient resetting = connect(listener, PENDED);
        InspectRequest second = pendedRequests.poll(5, TimeUnit.SECONDS);
        resetting.reset();

        await().atMost(Duration.ofSeconds(5)).until(() -> aborts.size() == 2);
        Thread.sleep(100);
        assertThat(aborts.get(first.id())).hasValue(1);
        assertThat(aborts.get(second.id())).hasValue(1);
        assertThat(abortReasons).containsOnly(AbortReason.CLIENT_CLOSED);
        assertThat(listener.inspectComplete(first.id(), InspectAction.ACCEPT)).isFalse();
        assertThat(listener.pendingCount()).isZero();
        assertThat(observer.pendEnded.get(PendOutcome.ABORT)).hasValue(2);
        assertThat(observer.ends).hasSize(2).allSatisfy(end -> {
            assertThat(end.outcome()).isEqualTo("abort");
            assertThat(end.decidedBy()).isEqualTo("client");
            assertThat(end.action()).isEmpty();
        });
    }

    @ParameterizedTest
    @MethodSource("transports")
    void overflowPastMaxPendingAppliesOnOverflow(String transport) throws Exception {
        EventLoops loops = loops(transport);
        Listener listener = start(builder(loops).maxPending(2).onOverflow(InspectAction.REJECT));
        connect(listener, PENDED);
        connect(listener, PENDED);
        await().atMost(Duration.ofSeconds(5)).until(() -> listener.pendingCount() == 2);
        TestClient.expectRejected(PENDED, listener.localAddress(), DEADLINE);
        assertThat(observer.pendEnded.get(PendOutcome.OVERFLOW)).hasValue(1);
        assertThat(listener.pendingCount()).isEqualTo(2);
    }

    /**
     * A completion counts only for a pended inspection: from inside inspect() it finds nothing pended and
     * returns false, and the handler's own answer stands; from pended() (a cache hit, a fast service) it decides.
     */
    @Test
    void completionCountsOnlyOncePended() throws Exception {
        Listener[] self = new Listener[1];
        Map<InspectId, Boolean> insideInspect = new ConcurrentHashMap<>();
        Listener listener = start(Listener.builder("eager").eventLoops(AUTO).observer(observer).inspectHandler(new InspectHandler() {
            @Override
            public InspectAction inspect(InspectRequest r) {
                insideInspect.put(r.id(), self[0].inspectComplete(r.id(), InspectAction.REJECT));
                return r.source().getAddress().equals(PENDED) ? InspectAction.PEND : InspectAction.ACCEPT;
            }

            @Override
            public void pended(InspectRequest r, io.portcullis.core.Verdict verdict) {
                assertThat(self[0].inspectComplete(r.id(), InspectAction.ACCEPT)).isTrue();
            }
        }));
        self[0] = listener;
        CompletableFuture<AcceptedConnection> first = listener.accept();
        connect(listener, ACCEPTED);
        assertThat(first.get(5, TimeUnit.SECONDS).request().source().getAddress()).as("the handler's ACCEPT stood").isEqualTo(ACCEPTED);
        CompletableFuture<AcceptedConnection> second = listener.accept();
        connect(listener, PENDED);
        assertThat(second.get(5, TimeUnit.SECONDS).request().source().getAddress()).as("completed from pended()").isEqualTo(PENDED);
        assertThat(insideInspect).hasSize(2).allSatisfy((id, result) -> assertThat(result).as("completion inside inspect()").isFalse());
        await().atMost(DEADLINE).until(() -> observer.pendEnded.containsKey(PendOutcome.ACCEPT));
        assertThat(observer.pendEnded.keySet()).containsExactly(PendOutcome.ACCEPT);
        assertThat(listener.pendingCount()).isZero();
    }

    /** A PEND refused for overflow never reaches pended(), and the handler is told what was done instead. */
    @Test
    void overflowedPendIsNotPendedAndTheHandlerIsTold() throws Exception {
        List<InspectId> pended = new CopyOnWriteArrayList<>();
        Map<InspectId, InspectAction> refused = new ConcurrentHashMap<>();
        Listener listener = start(Listener.builder("full").eventLoops(AUTO).observer(observer).maxPending(1)
                .onOverflow(InspectAction.REJECT).inspectHandler(new InspectHandler() {
                    @Override
                    public InspectAction inspect(InspectRequest r) {
                        return InspectAction.PEND;
                    }

                    @Override
                    public void pended(InspectRequest r, io.portcullis.core.Verdict verdict) {
                        pended.add(r.id());
                    }

                    @Override
                    public void pendRefused(InspectRequest r, InspectAction applied) {
                        refused.put(r.id(), applied);
                    }
                }));
        connect(listener, PENDED);
        await().atMost(DEADLINE).until(() -> listener.pendingCount() == 1);
        TestClient.expectRejected(PENDED, listener.localAddress(), DEADLINE);
        await().atMost(DEADLINE).until(() -> !refused.isEmpty());
        assertThat(pended).hasSize(1);
        assertThat(refused).hasSize(1).doesNotContainKey(pended.get(0)).containsValue(InspectAction.REJECT);
        assertThat(listener.inspectComplete(refused.keySet().iterator().next(), InspectAction.ACCEPT))
                .as("an overflowed inspection is not completable").isFalse();
    }

    /**
     * A pended client that sends its request and half-closes (printf 'q' | nc -N) has not left: the
     * inspection goes on, and after ACCEPT the bytes, then the FIN, reach the new owner and its answer the client.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void halfClosedPendedClientKeepsItsRequestAndGetsTheAnswer(String transport) throws Exception {
        Listener listener = start(builder(loops(transport)).inspectTimeout(Duration.ofSeconds(30)));
        TestClient client = connect(listener, PENDED);
        byte[] request = "one-shot request".getBytes(StandardCharsets.US_ASCII);
        client.write(request);
        client.shutdownOutput();
        InspectRequest inspected = pendedRequests.poll(5, TimeUnit.SECONDS);
        await().atMost(DEADLINE).until(() -> listener.pending().stream().anyMatch(PendingInspection::inputShut));
        assertThat(listener.pending()).singleElement().satisfies(p -> assertThat(p.heldBytes()).isEqualTo(request.length));
        assertThat(aborts).as("a FIN after bytes is no departure").isEmpty();

        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        assertThat(listener.inspectComplete(inspected.id(), InspectAction.ACCEPT)).isTrue();
        echo(accepted.get(5, TimeUnit.SECONDS));
        assertThat(client.readExactly(request.length)).isEqualTo(request);
        client.expectEof(DEADLINE);
        assertThat(aborts).isEmpty();
        assertThat(observer.pendEnded.keySet()).containsExactly(PendOutcome.ACCEPT);
    }

    /** The same, decided by the deadline's on-timeout accept: the held bytes and the FIN still go through. */
    @ParameterizedTest
    @MethodSource("transports")
    void halfClosedPendedClientIsServedByOnTimeoutAccept(String transport) throws Exception {
        Listener listener = start(builder(loops(transport)).inspectTimeout(Duration.ofMillis(300)).onTimeout(InspectAction.ACCEPT));
        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        TestClient client = connect(listener, PENDED);
        client.write(new byte[] {'q'});
        client.shutdownOutput();
        echo(accepted.get(5, TimeUnit.SECONDS));
        assertThat(client.readExactly(1)).containsExactly('q');
        client.expectEof(DEADLINE);
        assertThat(abortReasons).containsExactly(AbortReason.TIMEOUT);
    }

    /**
     * A half-closed pended client that then resets is not read any more, and no transport reports that reset
     * by itself: the inspection ends at its deadline (bounded), once, and nothing is left held.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void resetAfterHalfCloseEndsByTheDeadlineOnce(String transport) throws Exception {
        Listener listener = start(builder(loops(transport)).inspectTimeout(Duration.ofMillis(500)).onTimeout(InspectAction.ACCEPT));
        TestClient client = connect(listener, PENDED);
        client.write(new byte[] {1, 2, 3});
        client.shutdownOutput();
        await().atMost(DEADLINE).until(() -> listener.pending().stream().anyMatch(PendingInspection::inputShut));
        client.reset();
        await().atMost(DEADLINE).until(() -> observer.ends.size() == 1);
        assertThat(listener.pendingCount()).isZero();
        assertThat(abortReasons).containsExactly(AbortReason.TIMEOUT);
        assertThat(observer.pendEndedTotal()).isEqualTo(1);
    }

    /** A FIN before any byte is the client leaving: one abort, no acceptance. */
    @ParameterizedTest
    @MethodSource("transports")
    void finBeforeAnyByteIsAnAbortExactlyOnce(String transport) throws Exception {
        Listener listener = start(builder(loops(transport)).inspectTimeout(Duration.ofSeconds(30)));
        TestClient client = connect(listener, PENDED);
        InspectRequest inspected = pendedRequests.poll(5, TimeUnit.SECONDS);
        client.shutdownOutput();
        await().atMost(DEADLINE).until(() -> aborts.containsKey(inspected.id()));
        client.expectEof(DEADLINE);
        assertThat(aborts.get(inspected.id())).hasValue(1);
        assertThat(abortReasons).containsExactly(AbortReason.CLIENT_CLOSED);
        assertThat(listener.inspectComplete(inspected.id(), InspectAction.ACCEPT)).isFalse();
        assertThat(observer.pendEnded.keySet()).containsExactly(PendOutcome.ABORT);
    }

    /**
     * Bytes held while pended cost at most twice hold-bytes however the client writes: twenty clients each
     * send hold-bytes in 1-byte segments, and the listener's own pool then holds about one buffer each
     * (before: one pooled read buffer per segment, about 1 MiB per connection).
     */
    @ParameterizedTest
    @MethodSource("transports")
    void heldMemoryIsBoundedUnderOneByteSegments(String transport) throws Exception {
        int hold = 16 * 1024;
        int clients = 20;
        // Unpooled and instrumented: its metric is the exact capacity of the buffers alive.
        io.netty.buffer.UnpooledByteBufAllocator pool = new io.netty.buffer.UnpooledByteBufAllocator(true);
        Listener listener = start(builder(loops(transport)).holdBytes(hold).inspectTimeout(Duration.ofSeconds(60)).allocator(pool));
        List<TestClient> pended = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            pended.add(connect(listener, PENDED));
        }
        await().atMost(DEADLINE).until(() -> listener.pendingCount() == clients);
        byte[] one = new byte[1];
        for (int n = 0; n < hold; n++) {
            one[0] = (byte) n;
            for (TestClient c : pended) {
                c.write(one);
            }
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> listener.pending().stream().allMatch(p -> p.heldBytes() == hold));
        long used = pool.metric().usedDirectMemory() + pool.metric().usedHeapMemory();
        assertThat(used / clients).as("buffer bytes per pended connection").isLessThanOrEqualTo(2L * hold + 1024);

        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        PendingInspection first = listener.pending().get(0);
        assertThat(first.timeout()).as("the listener's inspect timeout").isEqualTo(Duration.ofSeconds(60));
        assertThat(first.remaining()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(60).minus(first.age()));
        assertThat(listener.inspectComplete(first.request().id(), InspectAction.ACCEPT)).isTrue();
        echo(accepted.get(5, TimeUnit.SECONDS));
        TestClient client = pended.stream().filter(c -> c.socket().getLocalPort() == first.request().source().getPort())
                .findFirst().orElseThrow();
        byte[] back = client.readExactly(hold);
        for (int n = 0; n < hold; n++) {
            assertThat(back[n]).as("byte %d", n).isEqualTo((byte) n);
        }
    }

    /**
     * Pull accept from a thread that is no event loop, with a connection already queued: the future is
     * completed on the connection's loop, so a stage attached to it may take the early data there.
     */
    @Test
    void pullAcceptOfAQueuedConnectionCompletesOnItsEventLoop() throws Exception {
        EventLoops loops = EventLoops.create(Transport.auto(), 1);
        try {
            Listener listener = start(builder(loops).onTimeout(InspectAction.ACCEPT).inspectTimeout(Duration.ofMillis(50)));
            TestClient client = connect(listener, PENDED);
            client.write("queued".getBytes(StandardCharsets.US_ASCII));
            await().atMost(DEADLINE).until(() -> observer.pendEnded.containsKey(PendOutcome.TIMEOUT));
            // Hold the only loop, so the hand-out cannot finish before the stage below is attached.
            java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
            loops.workers().next().execute(() -> {
                try {
                    hold.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            CompletableFuture<String> took = CompletableFuture.supplyAsync(() -> listener.accept().thenApply(c -> {
                assertThat(c.channel().eventLoop().inEventLoop()).isTrue();
                ByteBuf early = c.takeEarlyData();
                try {
                    return early.toString(StandardCharsets.US_ASCII);
                } finally {
                    early.release();
                    c.close();
                }
            })).thenCompose(f -> f);
            Thread.sleep(100);
            assertThat(took).as("not completed on the calling thread").isNotDone();
            hold.countDown();
            assertThat(took.get(5, TimeUnit.SECONDS)).isEqualTo("queued");
        } finally {
            listeners.forEach(Listener::close);
            listeners.clear();
            loops.close();
        }
    }

    /** hold-bytes 0: a pended client is not read at all; after the completion its bytes still all arrive. */
    @ParameterizedTest
    @MethodSource("transports")
    void holdBytesZeroReadsNothingWhilePended(String transport) throws Exception {
        Listener listener = start(builder(loops(transport)).holdBytes(0).inspectTimeout(Duration.ofSeconds(30)));
        TestClient client = connect(listener, PENDED);
        client.write("unread".getBytes(StandardCharsets.US_ASCII));
        InspectRequest request = pendedRequests.poll(5, TimeUnit.SECONDS);
        assertThat(request).as("inspected and pended").isNotNull();
        Thread.sleep(100);
        assertThat(listener.pending()).singleElement().satisfies(p -> assertThat(p.heldBytes()).isZero());
        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        assertThat(listener.inspectComplete(request.id(), InspectAction.ACCEPT)).isTrue();
        echo(accepted.get(5, TimeUnit.SECONDS));
        assertThat(new String(client.readExactly(6), StandardCharsets.US_ASCII)).isEqualTo("unread");
    }

    @Test
    void overflowCanAccept() throws Exception {
        Listener listener = start(builder(AUTO).maxPending(0).onOverflow(InspectAction.ACCEPT));
        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        connect(listener, PENDED);
        assertThat(accepted.get(5, TimeUnit.SECONDS).request().source().getAddress()).isEqualTo(PENDED);
        assertThat(observer.pendEnded.get(PendOutcome.OVERFLOW)).hasValue(1);
    }

    @Test
    void withoutConditionalAcceptNothingIsInspected() throws Exception {
        AtomicInteger inspections = new AtomicInteger();
        Listener listener = start(Listener.builder("plain").eventLoops(AUTO).conditionalAccept(false)
                .inspectHandler(r -> {
                    inspections.incrementAndGet();
                    return InspectAction.REJECT;
                }));
        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        connect(listener, REJECTED);
        assertThat(accepted.get(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(inspections).hasValue(0);
    }

    /** Every inspected connection is reported closed exactly once, whatever ended it. */
    @Test
    void inspectHandlerHearsOfEveryCloseOnce() throws Exception {
        Map<InspectId, AtomicInteger> closed = new ConcurrentHashMap<>();
        Listener listener = start(builder(AUTO).inspectTimeout(Duration.ofMillis(100)).inspectHandler(new InspectHandler() {
            @Override
            public InspectAction inspect(InspectRequest request) {
                return demoPolicy(request);
            }

            @Override
            public void connectionClosed(InspectRequest request) {
                closed.computeIfAbsent(request.id(), k -> new AtomicInteger()).incrementAndGet();
            }
        }).acceptHandler(c -> {
            c.close();
            return true;
        }));
        connect(listener, ACCEPTED);
        TestClient.expectRejected(REJECTED, listener.localAddress(), DEADLINE);
        connect(listener, PENDED).expectReset(DEADLINE);
        await().atMost(DEADLINE).until(() -> closed.size() == 3);
        Thread.sleep(100);
        assertThat(closed.values()).allSatisfy(count -> assertThat(count).hasValue(1));
    }

    @Test
    void failingInspectHandlerRejects() throws Exception {
        Listener listener = start(Listener.builder("faulty").eventLoops(AUTO).inspectHandler(r -> {
            throw new IllegalStateException("boom");
        }));
        TestClient.expectRejected(ACCEPTED, listener.localAddress(), DEADLINE);
    }

    @Test
    void refusingAcceptHandlerClosesAndCounts() throws Exception {
        Listener listener = start(builder(AUTO).acceptHandler(c -> false));
        TestClient client = connect(listener, ACCEPTED);
        client.expectEof(DEADLINE);
        assertThat(observer.refused).hasValue(1);
        assertThat(listener.accept()).isCompletedExceptionally();
    }

    @Test
    void completeRejectsBadArguments() {
        Listener listener = start(builder(AUTO));
        assertThatThrownBy(() -> listener.inspectComplete(InspectId.next(), InspectAction.PEND))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(listener.inspectComplete(InspectId.next(), InspectAction.ACCEPT)).isFalse();
    }

    @Test
    void unclaimedPullConnectionsAreBoundedAndExpire() throws Exception {
        Listener listener = start(builder(AUTO).pullAccept(1, Duration.ofMillis(300), 4));
        TestClient first = connect(listener, ACCEPTED);
        TestClient second = connect(listener, ACCEPTED);
        second.expectEof(DEADLINE); // past the queue bound
        first.expectEof(DEADLINE); // expired unclaimed
        assertThat(observer.refused).hasValue(2);
    }

    @Test
    void pullAcceptHandsQueuedConnectionsInOrder() throws Exception {
        Listener listener = start(builder(AUTO));
        TestClient a = connect(listener, ACCEPTED);
        await().atMost(Duration.ofSeconds(5)).until(() -> observer.opened.get() == 1);
        TestClient b = connect(listener, TestClient.loopback(4));
        await().atMost(Duration.ofSeconds(5)).until(() -> observer.opened.get() == 2);
        AcceptedConnection first = listener.accept().get(5, TimeUnit.SECONDS);
        AcceptedConnection second = listener.accept().get(5, TimeUnit.SECONDS);
        assertThat(first.request().source().getPort()).isEqualTo(a.socket().getLocalPort());
        assertThat(second.request().source().getPort()).isEqualTo(b.socket().getLocalPort());
        assertThat(second.request().id().value()).isGreaterThan(first.request().id().value());
    }

    @Test
    void pushListenerRefusesPull() {
        Listener listener = start(builder(AUTO).acceptHandler(c -> true));
        assertThat(listener.accept()).isCompletedExceptionally();
    }

    @Test
    void closingTheListenerAbortsPended() throws Exception {
        Listener listener = builder(AUTO).build().start();
        TestClient client = connect(listener, PENDED);
        InspectRequest request = pendedRequests.poll(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(5)).until(() -> listener.pendingCount() == 1);
        listener.close();
        client.expectReset(DEADLINE);
        assertThat(abortReasons).containsExactly(AbortReason.LISTENER_CLOSED);
        assertThat(listener.inspectComplete(request.id(), InspectAction.ACCEPT)).isFalse();
    }

    @Test
    void stoppingToAcceptRefusesNewClientsAndResolvesPendedPerOnTimeout() throws Exception {
        Listener listener = start(builder(AUTO).onTimeout(InspectAction.ACCEPT).inspectTimeout(Duration.ofMinutes(1)));
        TestClient pended = connect(listener, PENDED);
        pended.write("drain".getBytes(StandardCharsets.US_ASCII));
        await().atMost(DEADLINE).until(() -> listener.pendingCount() == 1);
        CompletableFuture<AcceptedConnection> accepted = listener.accept();
        java.net.InetSocketAddress address = listener.localAddress();

        listener.stopAccepting();
        echo(accepted.get(5, TimeUnit.SECONDS));
        assertThat(new String(pended.readExactly(5), StandardCharsets.US_ASCII)).isEqualTo("drain");
        assertThat(abortReasons).containsExactly(AbortReason.LISTENER_CLOSED);
        assertThat(observer.ends).singleElement().satisfies(end -> {
            assertThat(end.decidedBy()).isEqualTo("shutdown");
            assertThat(end.action()).contains(InspectAction.ACCEPT);
        });
        assertThatThrownBy(() -> TestClient.connect(ACCEPTED, address).close())
                .as("the listening socket is closed").isInstanceOf(java.net.ConnectException.class);
    }

    /**
     * Completion, deadline and client abort race for many inspections at once; each must end exactly
     * once: a true completion and an abort never both, never two aborts, never none.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void completionDeadlineAndAbortRaceEndEachInspectionExactlyOnce(String transport) throws Exception {
        EventLoops loops = loops(transport);
        int connections = 300;
        Listener listener = start(builder(loops).inspectTimeout(Duration.ofMillis(100)).onTimeout(InspectAction.REJECT)
                .acceptHandler(c -> {
                    c.close();
                    return true;
                }));
        List<TestClient> clients = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            try {
                clients.add(connect(listener, PENDED));
            } catch (java.net.SocketException e) {
                // the deadline already reset it while connect() was finishing: one more timeout in the race
            }
        }
        List<InspectRequest> requests = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            InspectRequest r = pendedRequests.poll(5, TimeUnit.SECONDS);
            assertThat(r).isNotNull();
            requests.add(r);
        }
        Map<InspectId, Boolean> completed = new ConcurrentHashMap<>();
        Thread completer = new Thread(() -> {
            for (InspectRequest r : requests) {
                if (listener.inspectComplete(r.id(), InspectAction.ACCEPT)) {
                    completed.put(r.id(), true);
                }
            }
        });
        Thread leaver = new Thread(() -> {
            for (TestClient s : clients) {
                try {
                    s.reset();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }
        });
        completer.start();
        leaver.start();
        completer.join(10_000);
        leaver.join(10_000);

        await().atMost(Duration.ofSeconds(10)).until(() -> listener.pendingCount() == 0
                && observer.pendEndedTotal() == connections);
        Thread.sleep(100);
        for (InspectRequest r : requests) {
            int abortCount = aborts.getOrDefault(r.id(), new AtomicInteger()).get();
            boolean wonByCompletion = completed.containsKey(r.id());
            assertThat(abortCount).as("aborts of %s", r.id()).isLessThanOrEqualTo(1);
            assertThat(wonByCompletion ? 1 : abortCount).as("outcomes of %s", r.id()).isEqualTo(1);
            assertThat(wonByCompletion && abortCount > 0).as("abort after completion of %s", r.id()).isFalse();
        }
        assertThat(observer.pendEndedTotal()).isEqualTo(connections);
        assertThat(observer.ends).as("one audit end per inspection").hasSize(connections);
    }

    // --- helpers ---

    /** Installs an echo on an accepted connection: early bytes first, then everything read. */
    private static void echo(AcceptedConnection connection) {
        Channel ch = connection.channel();
        ch.eventLoop().execute(() -> {
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.writeAndFlush(msg);
                }

                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
                        // The client is done sending: answer its FIN with ours, after what was echoed.
                        ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
                                .addListener(f -> ((io.netty.channel.socket.DuplexChannel) ctx.channel()).shutdownOutput());
                    }
                    ctx.fireUserEventTriggered(evt);
                }
            });
            ByteBuf early = connection.takeEarlyData();
            if (early.isReadable()) {
                ch.writeAndFlush(early);
            } else {
                early.release();
            }
            ch.config().setAutoRead(true);
        });
    }

    private TestClient connect(Listener listener, InetAddress from) throws IOException {
        TestClient client = TestClient.connect(from, listener.localAddress());
        sockets.add(client);
        return client;
    }

    static final class CountingObserver implements ListenerObserver {
        final AtomicInteger opened = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        final Map<InspectAction, AtomicInteger> inspected = new ConcurrentHashMap<>();
        final Map<PendOutcome, AtomicInteger> pendEnded = new ConcurrentHashMap<>();
        final List<InspectionEnd> ends = new CopyOnWriteArrayList<>();

        @Override
        public void inspectionEnded(InspectionEnd end) {
            ends.add(end);
        }

        @Override
        public void connectionArrived(String listener) {
            opened.incrementAndGet();
        }

        @Override
        public void inspected(String listener, InspectAction action, long nanos) {
            inspected.computeIfAbsent(action, k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public void pendEnded(String listener, PendOutcome outcome, long nanos) {
            pendEnded.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public void acceptRefused(String listener) {
            refused.incrementAndGet();
        }

        int pendEndedTotal() {
            return pendEnded.values().stream().mapToInt(AtomicInteger::get).sum();
        }
    }
}
