package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.portcullis.core.InspectionHandler.State;
import io.portcullis.core.testing.EmbeddedSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The inspection state machine, one handler on an {@link EmbeddedSocket}: every verdict, every way out of
 * PENDING, exactly one outcome per inspection, and the bounds on what a pended connection holds. No sockets,
 * no threads; a completion from the test thread is a completion from a foreign thread (it is queued to the
 * channel's loop, which runs only when the test says so), and the deadline moves only with the test's clock.
 */
class InspectionHandlerTest {

    /** The listener needs loops; nothing here runs on them. */
    private static final EventLoops LOOPS = EventLoops.nio(1);
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.2", 40000);
    private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 8443);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final Recorder rec = new Recorder();
    private final Inspector inspector = new Inspector();
    private final List<EmbeddedSocket> channels = new ArrayList<>();

    @AfterEach
    void finish() {
        for (EmbeddedSocket ch : channels) {
            ch.finishAndReleaseAll();
        }
    }

    @AfterAll
    static void closeLoops() {
        LOOPS.close();
    }

    // ---- fixtures

    /** Records what the listener reports and takes accepted connections (keeping them, by default). */
    private static final class Recorder implements ListenerObserver, AbortHandler, AcceptHandler {
        final AtomicInteger arrived = new AtomicInteger();
        final List<InspectAction> inspected = new CopyOnWriteArrayList<>();
        final List<PendOutcome> pendEnded = new CopyOnWriteArrayList<>();
        final List<InspectionEnd> ended = new CopyOnWriteArrayList<>();
        final AtomicInteger acceptRefused = new AtomicInteger();
        final List<AbortReason> aborts = new CopyOnWriteArrayList<>();
        final List<AcceptedConnection> accepted = new CopyOnWriteArrayList<>();
        Predicate<AcceptedConnection> onAccept = c -> true;

        @Override
        public void connectionArrived(String listener) {
            arrived.incrementAndGet();
        }

        @Override
        public void inspected(String listener, InspectAction action, long nanos) {
            inspected.add(action);
        }

        @Override
        public void pendEnded(String listener, PendOutcome outcome, long nanos) {
            assertThat(nanos).isNotNegative();
            pendEnded.add(outcome);
        }

        @Override
        public void inspectionEnded(InspectionEnd end) {
            ended.add(end);
        }

        @Override
        public void acceptRefused(String listener) {
            acceptRefused.incrementAndGet();
        }

        @Override
        public void aborted(InspectId id, AbortReason reason) {
            aborts.add(reason);
        }

        @Override
        public boolean accepted(AcceptedConnection connection) {
            accepted.add(connection);
            return onAccept.test(connection);
        }

        InspectionEnd onlyEnd() {
            assertThat(ended).as("inspections ended").hasSize(1);
            return ended.get(0);
        }
    }

    /** An inspect handler whose verdict the test sets, recording every call it gets. */
    private static final class Inspector implements InspectHandler {
        Function<InspectRequest, Verdict> verdict = r -> new Verdict(InspectAction.PEND, "ask");
        Consumer<InspectRequest> onPended = r -> { };
        final List<InspectRequest> inspected = new CopyOnWriteArrayList<>();
        final List<InspectRequest> pended = new CopyOnWriteArrayList<>();
        final List<InspectAction> pendRefused = new CopyOnWriteArrayList<>();
        final List<InspectRequest> closed = new CopyOnWriteArrayList<>();

        @Override
        public InspectAction inspect(InspectRequest request) {
            throw new AssertionError("the listener asks for the verdict");
        }

        @Override
        public Verdict verdict(InspectRequest request) {
            inspected.add(request);
            return verdict.apply(request);
        }

        @Override
        public void pended(InspectRequest request, Verdict v) {
            pended.add(request);
            onPended.accept(request);
        }

        @Override
        public void pendRefused(InspectRequest request, InspectAction applied) {
            pendRefused.add(applied);
        }

        @Override
        public void connectionClosed(InspectRequest request) {
            closed.add(request);
        }

        void answer(InspectAction action) {
            verdict = r -> new Verdict(action, "rule-" + action.label());
        }
    }

    /** A permit that counts its releases. */
    private static final class CountingPermit implements Permit {
        final AtomicInteger released = new AtomicInteger();

        @Override
        public void release() {
            released.incrementAndGet();
        }
    }

    /** A client connection with its inspection handler (which leaves the pipeline on hand-over). */
    private record Conn(EmbeddedSocket ch, InspectionHandler handler) {
        State state() {
            return handler.state();
        }

        InspectId id() {
            return handler.request().id();
        }

        int readCap() {
            return ((CappedReads) ch.config().getRecvByteBufAllocator()).currentCap();
        }
    }

    private Listener.Builder listener() {
        return Listener.builder("embedded").eventLoops(LOOPS).inspectTimeout(TIMEOUT)
                .observer(rec).abortHandler(rec).acceptHandler(rec).inspectHandler(inspector);
    }

    /** A client arrives: the channel as a listener sets it up, then active. */
    private Conn arrive(Listener listener) {
        EmbeddedSocket ch = new EmbeddedSocket(CLIENT, LOCAL);
        channels.add(ch);
        ch.config().setRecvByteBufAllocator(new CappedReads());
        InspectionHandler handler = new InspectionHandler(listener);
        ch.pipeline().addLast(PipelineNames.INSPECTION, handler);
        ch.activate();
        return new Conn(ch, handler);
    }

    private static String take(AcceptedConnection connection) {
        ByteBuf data = connection.takeEarlyData();
        try {
            return data.toString(StandardCharsets.ISO_8859_1);
        } finally {
            data.release();
        }
    }

    /** A handler behind the inspection that logs what reaches the new owner. */
    private static final class OwnerLog extends ChannelInboundHandlerAdapter {
        final List<String> events = new ArrayList<>();

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt instanceof ChannelInputShutdownEvent ? "fin" : evt.toString());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            events.add("inactive");
        }
    }

    // ---- verdicts

    @Test
    void acceptHandsTheConnectionToTheAcceptHandlerAtOnce() {
        CountingPermit permit = new CountingPermit();
        inspector.verdict = r -> new Verdict(InspectAction.ACCEPT, "office", Optional.empty(), Optional.empty(), permit);
        Conn c = arrive(listener().build());

        assertThat(c.state()).isEqualTo(State.ACCEPTED);
        assertThat(rec.arrived).hasValue(1);
        assertThat(rec.inspected).containsExactly(InspectAction.ACCEPT);
        assertThat(rec.accepted).hasSize(1);
        InspectRequest request = rec.accepted.get(0).request();
        assertThat(request.source()).isEqualTo(CLIENT);
        assertThat(request.destination()).isEqualTo(LOCAL);
        assertThat(request.listener()).isEqualTo("embedded");
        InspectionEnd end = rec.onlyEnd();
        assertThat(end.action()).contains(InspectAction.ACCEPT);
        assertThat(end.outcome()).isEqualTo("accept");
        assertThat(end.decidedBy()).isEqualTo("rule");
        assertThat(end.rule()).isEqualTo("office");
        assertThat(end.pendNanos()).isZero();
        assertThat(rec.pendEnded).isEmpty();
        assertThat(inspector.pended).isEmpty();
        assertThat(c.ch().readRequests()).as("nothing read before the new owner asks").isZero();

        assertThat(take(rec.accepted.get(0))).isEmpty();
        assertThat(c.state()).isEqualTo(State.HANDED_OVER);
        assertThat(c.ch().pipeline().get(PipelineNames.INSPECTION)).as("left the pipeline").isNull();
        assertThat(take(rec.accepted.get(0))).as("a second take").isEmpty();
        assertThat(c.ch().isActive()).isTrue();
        assertThat(permit.released).as("held while the connection is open").hasValue(0);

        c.ch().close();
        c.ch().close();
        assertThat(permit.released).hasValue(1);
        assertThat(inspector.closed).containsExactly(request);
        assertThat(c.ch().written()).isEmpty();
    }

    @Test
    void rejectResetsWithoutSendingAByte() {
        CountingPermit permit = new CountingPermit();
        inspector.verdict = r -> new Verdict(InspectAction.REJECT, "deny", Optional.empty(), Optional.empty(), permit);
        Conn c = arrive(listener().build());

        assertThat(c.state()).isEqualTo(State.REJECTED);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(c.ch().soLinger()).as("SO_LINGER 0: the close is a reset").isZero();
        assertThat(c.ch().written()).isEmpty();
        assertThat(rec.accepted).isEmpty();
        InspectionEnd end = rec.onlyEnd();
        assertThat(end.action()).contains(InspectAction.REJECT);
        assertThat(end.outcome()).isEqualTo("reject");
        assertThat(end.decidedBy()).isEqualTo("rule");
        assertThat(end.rule()).isEqualTo("deny");
        assertThat(permit.released).hasValue(1);
        assertThat(inspector.closed).hasSize(1);
        assertThat(rec.acceptRefused).hasValue(0);
    }

    @Test
    void withConditionalAcceptOffEveryConnectionIsAcceptedUninspected() {
        Conn c = arrive(listener().conditionalAccept(false).build());

        assertThat(c.state()).isEqualTo(State.ACCEPTED);
        assertThat(rec.accepted).hasSize(1);
        assertThat(inspector.inspected).isEmpty();
        assertThat(rec.inspected).isEmpty();
        assertThat(rec.ended).as("nothing was inspected").isEmpty();
        assertThat(rec.arrived).hasValue(1);
    }

    @Test
    void pendHoldsTheConnectionReadsItAndListsIt() {
        inspector.verdict = r -> new Verdict(InspectAction.PEND, "ask", Optional.of("svc"), Optional.empty(), Permit.NONE);
        Listener listener = listener().build();
        Conn c = arrive(listener);

        assertThat(c.state()).isEqualTo(State.PENDING);
        assertThat(inspector.pended).containsExactly(c.handler().request());
        assertThat(rec.inspected).containsExactly(InspectAction.PEND);
        assertThat(listener.pendingCount()).isEqualTo(1);
        assertThat(c.ch().readRequested()).as("read while pended, to notice a client leaving").isTrue();

        c.ch().receive("GET /");
        assertThat(listener.pending()).singleElement().satisfies(p -> {
            assertThat(p.request().id()).isEqualTo(c.id());
            assertThat(p.rule()).isEqualTo("ask");
            assertThat(p.heldBytes()).isEqualTo(5);
            assertThat(p.inputShut()).isFalse();
        });
        assertThat(rec.accepted).isEmpty();
        assertThat(rec.ended).isEmpty();
        assertThat(c.ch().written()).as("no byte to the client while pended").isEmpty();
        assertThat(c.ch().isActive()).isTrue();
    }

    // ---- ways out of PENDING

    @Test
    void aCompletionFromAnotherThreadIsAppliedOnTheLoopAfterIt() {
        Listener listener = listener().build();
        Conn c = arrive(listener);
        c.ch().receive("hel");
        c.ch().receive("lo");

        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT, Completion.by("service", "ok"))).isTrue();
        assertThat(c.state()).as("decided, the action queued to the loop").isEqualTo(State.DECIDED);
        assertThat(rec.accepted).isEmpty();
        assertThat(rec.ended).isEmpty();

        c.ch().runPendingTasks();
        assertThat(c.state()).isEqualTo(State.ACCEPTED);
        assertThat(rec.accepted).hasSize(1);
        assertThat(rec.pendEnded).containsExactly(PendOutcome.ACCEPT);
        InspectionEnd end = rec.onlyEnd();
        assertThat(end.outcome()).isEqualTo("accept");
        assertThat(end.decidedBy()).isEqualTo("service");
        assertThat(end.reason()).contains("ok");
        assertThat(end.pendNanos()).isNotNegative();
        assertThat(listener.pendingCount()).isZero();
        assertThat(listener.pending()).isEmpty();
        assertThat(rec.aborts).isEmpty();
        assertThat(take(rec.accepted.get(0))).isEqualTo("hello");
    }

    @Test
    void aRejectingCompletionResetsAndDropsTheHeldBytes() {
        Listener listener = listener().build();
        Conn c = arrive(listener);
        ByteBuf held = c.ch().bytes("secret");
        c.ch().receive(held);

        assertThat(listener.inspectComplete(c.id(), InspectAction.REJECT)).isTrue();
        c.ch().runPendingTasks();

        assertThat(c.state()).isEqualTo(State.REJECTED);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(c.ch().soLinger()).isZero();
        assertThat(c.ch().written()).isEmpty();
        assertThat(held.refCnt()).as("held bytes released").isZero();
        assertThat(rec.pendEnded).containsExactly(PendOutcome.REJECT);
        assertThat(rec.onlyEnd().decidedBy()).isEqualTo("caller");
        assertThat(rec.accepted).isEmpty();
    }

    @Test
    void aFallbackCompletionCountsAsFailure() {
        Listener listener = listener().build();
        Conn c = arrive(listener);

        listener.inspectComplete(c.id(), InspectAction.REJECT, Completion.fallback("on-failure", "service down"));
        c.ch().runPendingTasks();

        assertThat(rec.pendEnded).containsExactly(PendOutcome.FAILURE);
        assertThat(rec.onlyEnd().outcome()).isEqualTo("failure");
        assertThat(c.state()).isEqualTo(State.REJECTED);
    }

    @ParameterizedTest
    @EnumSource(value = InspectAction.class, names = {"ACCEPT", "REJECT"})
    void theDeadlineAppliesOnTimeout(InspectAction onTimeout) {
        Listener listener = listener().onTimeout(onTimeout).build();
        Conn c = arrive(listener);
        c.ch().receive("x");

        c.ch().advance(TIMEOUT.minusMillis(1));
        assertThat(c.state()).isEqualTo(State.PENDING);
        c.ch().advance(Duration.ofMillis(1));

        assertThat(c.state()).isEqualTo(onTimeout == InspectAction.ACCEPT ? State.ACCEPTED : State.REJECTED);
        assertThat(rec.aborts).containsExactly(AbortReason.TIMEOUT);
        assertThat(rec.pendEnded).containsExactly(PendOutcome.TIMEOUT);
        InspectionEnd end = rec.onlyEnd();
        assertThat(end.action()).contains(onTimeout);
        assertThat(end.outcome()).isEqualTo("timeout");
        assertThat(end.decidedBy()).isEqualTo("timeout");
        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT)).as("too late").isFalse();
        assertThat(listener.pendingCount()).isZero();
        if (onTimeout == InspectAction.ACCEPT) {
            assertThat(take(rec.accepted.get(0))).isEqualTo("x");
        } else {
            assertThat(c.ch().soLinger()).isZero();
        }
    }

    @Test
    void aVerdictsOwnTimeoutOverridesTheListeners() {
        inspector.verdict = r -> new Verdict(InspectAction.PEND, "short", Optional.empty(),
                Optional.of(Duration.ofMillis(300)), Permit.NONE);
        Conn c = arrive(listener().build());

        c.ch().advance(Duration.ofMillis(299));
        assertThat(c.state()).isEqualTo(State.PENDING);
        c.ch().advance(Duration.ofMillis(1));
        assertThat(c.state()).isEqualTo(State.REJECTED);
        assertThat(rec.aborts).containsExactly(AbortReason.TIMEOUT);
    }

    @Test
    void aFinBeforeAnyByteIsTheClientLeaving() {
        Listener listener = listener().build();
        Conn c = arrive(listener);

        c.ch().receiveFin();

        assertThat(c.state()).isEqualTo(State.ABORTED);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(rec.aborts).containsExactly(AbortReason.CLIENT_CLOSED);
        assertThat(rec.pendEnded).containsExactly(PendOutcome.ABORT);
        InspectionEnd end = rec.onlyEnd();
        assertThat(end.action()).as("nothing was done: the client left").isEmpty();
        assertThat(end.outcome()).isEqualTo("abort");
        assertThat(end.decidedBy()).isEqualTo("client");
        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT)).isFalse();
        assertThat(listener.pendingCount()).isZero();
        assertThat(rec.accepted).isEmpty();
        assertThat(inspector.closed).hasSize(1);
    }

    @Test
    void aFinAfterBytesIsKeptAndFollowsTheBytesToTheNewOwner() {
        Listener listener = listener().build();
        OwnerLog owner = new OwnerLog();
        rec.onAccept = conn -> {
            conn.channel().pipeline().addLast(owner);
            owner.events.add("data:" + take(conn));
            return true;
        };
        Conn c = arrive(listener);
        c.ch().receive("GET");

        c.ch().receiveFin();
        assertThat(c.state()).as("a half-close is not a departure").isEqualTo(State.PENDING);
        assertThat(listener.pending()).singleElement().satisfies(p -> {
            assertThat(p.inputShut()).isTrue();
            assertThat(p.heldBytes()).isEqualTo(3);
        });
        assertThat(rec.aborts).isEmpty();
        assertThat(owner.events).isEmpty();

        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT)).isTrue();
        c.ch().runPendingTasks();

        assertThat(owner.events).as("the bytes, then the FIN, once").containsExactly("data:GET", "fin");
        assertThat(c.state()).isEqualTo(State.HANDED_OVER);
        assertThat(rec.onlyEnd().outcome()).isEqualTo("accept");
    }

    @ParameterizedTest
    @ValueSource(strings = {"close", "reset"})
    void aCloseOrResetWhilePendedIsTheClientLeaving(String how) {
        Listener listener = listener().build();
        Conn c = arrive(listener);
        ByteBuf held = c.ch().bytes("abc");
        c.ch().receive(held);

        if (how.equals("close")) {
            c.ch().close();
        } else {
            c.ch().receiveReset();
        }

        assertThat(c.state()).isEqualTo(State.ABORTED);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(rec.aborts).containsExactly(AbortReason.CLIENT_CLOSED);
        assertThat(rec.pendEnded).containsExactly(PendOutcome.ABORT);
        assertThat(rec.onlyEnd().action()).isEmpty();
        assertThat(held.refCnt()).isZero();
        assertThat(listener.pendingCount()).isZero();
        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT)).isFalse();
    }

    @ParameterizedTest
    @EnumSource(value = InspectAction.class, names = {"ACCEPT", "REJECT"})
    void closingTheListenerEndsPendedInspectionsWithOnTimeout(InspectAction onTimeout) {
        Listener listener = listener().onTimeout(onTimeout).build();
        Conn c = arrive(listener);
        c.ch().receive("x");

        listener.close();
        assertThat(c.state()).as("decided, the action queued to the loop").isEqualTo(State.DECIDED);
        c.ch().runPendingTasks();

        assertThat(c.state()).isEqualTo(onTimeout == InspectAction.ACCEPT ? State.ACCEPTED : State.REJECTED);
        assertThat(rec.aborts).containsExactly(AbortReason.LISTENER_CLOSED);
        assertThat(rec.pendEnded).containsExactly(PendOutcome.ABORT);
        InspectionEnd end = rec.onlyEnd();
        assertThat(end.decidedBy()).isEqualTo("shutdown");
        assertThat(end.action()).contains(onTimeout);
        assertThat(listener.pendingCount()).isZero();
        listener.close();
        c.ch().runPendingTasks();
        assertThat(rec.ended).as("closing again changes nothing").hasSize(1);
    }

    @Test
    void aListenerClosedUnderAClientThatLeftClosesWithoutApplying() {
        Listener listener = listener().onTimeout(InspectAction.ACCEPT).build();
        Conn c = arrive(listener);

        listener.close();
        c.ch().pipeline().close(); // the client goes before the queued action runs
        c.ch().runPendingTasks();

        assertThat(c.state()).isEqualTo(State.CLOSED);
        assertThat(rec.accepted).isEmpty();
        assertThat(rec.aborts).containsExactly(AbortReason.LISTENER_CLOSED);
        assertThat(rec.ended).hasSize(1);
    }

    // ---- exactly once

    /** The ways a pended inspection can end, each done from outside as it would happen. */
    enum WayOut {
        COMPLETE_ACCEPT, COMPLETE_REJECT, DEADLINE, FIN, CLOSE, RESET, LISTENER_CLOSED;

        /** Does it; returns what a completion returned, true otherwise. */
        boolean apply(Listener listener, Conn c) {
            switch (this) {
                case COMPLETE_ACCEPT -> {
                    return listener.inspectComplete(c.id(), InspectAction.ACCEPT);
                }
                case COMPLETE_REJECT -> {
                    return listener.inspectComplete(c.id(), InspectAction.REJECT);
                }
                case DEADLINE -> c.ch().advance(TIMEOUT);
                case FIN -> c.ch().receiveFin();
                // Through the pipeline: a socket closes without running the loop's queued tasks first.
                case CLOSE -> c.ch().pipeline().close();
                case RESET -> c.ch().receiveReset();
                case LISTENER_CLOSED -> listener.stopAccepting();
            }
            return true;
        }

        boolean isCompletion() {
            return this == COMPLETE_ACCEPT || this == COMPLETE_REJECT;
        }

        PendOutcome outcome() {
            return switch (this) {
                case COMPLETE_ACCEPT -> PendOutcome.ACCEPT;
                case COMPLETE_REJECT -> PendOutcome.REJECT;
                case DEADLINE -> PendOutcome.TIMEOUT;
                case FIN, CLOSE, RESET, LISTENER_CLOSED -> PendOutcome.ABORT;
            };
        }

        Optional<AbortReason> abort() {
            return switch (this) {
                case COMPLETE_ACCEPT, COMPLETE_REJECT -> Optional.empty();
                case DEADLINE -> Optional.of(AbortReason.TIMEOUT);
                case FIN, CLOSE, RESET -> Optional.of(AbortReason.CLIENT_CLOSED);
                case LISTENER_CLOSED -> Optional.of(AbortReason.LISTENER_CLOSED);
            };
        }
    }

    static Stream<Arguments> pairsOfWaysOut() {
        List<Arguments> pairs = new ArrayList<>();
        for (WayOut first : WayOut.values()) {
            for (WayOut second : WayOut.values()) {
                if (first != second) {
                    pairs.add(Arguments.of(first, second));
                }
            }
        }
        return pairs.stream();
    }

    @ParameterizedTest(name = "{0} then {1}")
    @MethodSource("pairsOfWaysOut")
    void everyPairOfWaysOutEndsTheInspectionOnce(WayOut first, WayOut second) {
        CountingPermit permit = new CountingPermit();
        inspector.verdict = r -> new Verdict(InspectAction.PEND, "ask", Optional.empty(), Optional.empty(), permit);
        Listener listener = listener().onTimeout(InspectAction.ACCEPT).build();
        Conn c = arrive(listener);

        boolean firstResult = first.apply(listener, c);
        boolean secondResult = second.apply(listener, c);
        c.ch().runPendingTasks();

        assertThat(firstResult).as("the first way out wins").isTrue();
        if (second.isCompletion()) {
            assertThat(secondResult).as("a completion after another way out").isFalse();
        }
        assertThat(rec.pendEnded).as("one pend outcome").containsExactly(first.outcome());
        assertThat(rec.ended).as("one inspection end").hasSize(1);
        assertThat(rec.aborts).as("abort events").containsExactlyElementsOf(first.abort().stream().toList());
        assertThat(rec.accepted.size()).as("accepted at most once").isLessThanOrEqualTo(1);
        assertThat(listener.pendingCount()).as("the slot is back").isZero();
        assertThat(listener.pending()).isEmpty();
        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT)).isFalse();
        assertThat(c.state()).isNotIn(State.PENDING, State.DECIDED);

        c.ch().close();
        c.ch().advance(TIMEOUT.multipliedBy(2));
        assertThat(rec.ended).as("nothing more after the close").hasSize(1);
        assertThat(rec.pendEnded).hasSize(1);
        assertThat(permit.released).hasValue(1);
        assertThat(inspector.closed).hasSize(1);
    }

    /** What decides a pended inspection first. */
    enum Winner { COMPLETION, DEADLINE, CLIENT_LEFT, LISTENER_CLOSED }

    /** What comes at the same time on another path, reaching the handler before the winner unregistered it. */
    enum Loser { COMPLETION, DEADLINE, LISTENER_CLOSED }

    static Stream<Arguments> races() {
        List<Arguments> races = new ArrayList<>();
        for (Winner w : Winner.values()) {
            for (Loser l : Loser.values()) {
                if (!w.name().equals(l.name())) {
                    races.add(Arguments.of(w, l));
                }
            }
        }
        return races.stream();
    }

    /**
     * The listener's registry stops most late comers (a completed inspection is no longer found by id), so the
     * losers here reach the handler itself, as one does that found it just before: a completion on another
     * thread, the deadline timer running before the winner's queued task cancels it, a listener close walking
     * its pended inspections. Only the state's compare-and-set keeps the outcome single then.
     */
    @ParameterizedTest(name = "{0} wins over {1}")
    @MethodSource("races")
    void aWayOutThatLosesARaceChangesNothing(Winner winner, Loser loser) {
        Listener listener = listener().onTimeout(InspectAction.ACCEPT).build();
        Conn c = arrive(listener);

        switch (winner) {
            case COMPLETION -> assertThat(listener.inspectComplete(c.id(), InspectAction.REJECT)).isTrue();
            case DEADLINE -> c.ch().advance(TIMEOUT);
            case CLIENT_LEFT -> c.ch().pipeline().close();
            case LISTENER_CLOSED -> listener.stopAccepting();
        }
        switch (loser) {
            case COMPLETION -> assertThat(c.handler().complete(InspectAction.ACCEPT, Completion.CALLER)).isFalse();
            case DEADLINE -> {
                c.ch().tick(TIMEOUT);
                c.ch().runScheduledPendingTasks();
                c.handler().run();
            }
            case LISTENER_CLOSED -> c.handler().listenerClosed();
        }
        c.ch().runPendingTasks();

        PendOutcome expected = switch (winner) {
            case COMPLETION -> PendOutcome.REJECT;
            case DEADLINE -> PendOutcome.TIMEOUT;
            case CLIENT_LEFT, LISTENER_CLOSED -> PendOutcome.ABORT;
        };
        assertThat(rec.pendEnded).as("one pend outcome, the winner's").containsExactly(expected);
        assertThat(rec.ended).hasSize(1);
        assertThat(rec.aborts.size()).as("abort events").isEqualTo(winner == Winner.COMPLETION ? 0 : 1);
        assertThat(rec.accepted.size()).isLessThanOrEqualTo(1);
        assertThat(listener.pendingCount()).as("the slot is given back once").isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"fin", "close"})
    void aClientThatLeavesAfterACompletionWonIsClosedWithoutAnAbort(String how) {
        Listener listener = listener().build();
        Conn c = arrive(listener);

        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT)).isTrue();
        if (how.equals("fin")) {
            c.ch().receiveFin();
        } else {
            c.ch().pipeline().close();
        }
        c.ch().runPendingTasks();

        assertThat(c.state()).isEqualTo(State.CLOSED);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(rec.accepted).as("nothing left to hand over").isEmpty();
        assertThat(rec.aborts).as("the completion won: no abort event").isEmpty();
        assertThat(rec.pendEnded).containsExactly(PendOutcome.ACCEPT);
        assertThat(rec.ended).hasSize(1);
    }

    @Test
    void aSecondCompletionIsRefused() {
        Listener listener = listener().build();
        Conn c = arrive(listener);

        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT)).isTrue();
        assertThat(listener.inspectComplete(c.id(), InspectAction.REJECT)).as("before the first is applied").isFalse();
        c.ch().runPendingTasks();
        assertThat(listener.inspectComplete(c.id(), InspectAction.REJECT)).as("after").isFalse();

        assertThat(c.state()).isEqualTo(State.ACCEPTED);
        assertThat(rec.pendEnded).containsExactly(PendOutcome.ACCEPT);
        assertThat(rec.ended).hasSize(1);
        assertThat(rec.accepted).hasSize(1);
    }

    @Test
    void aCompletionWhileTheInspectHandlerRunsIsRefused() {
        List<Boolean> results = new ArrayList<>();
        Listener[] listener = new Listener[1];
        inspector.verdict = r -> {
            results.add(listener[0].inspectComplete(r.id(), InspectAction.ACCEPT));
            return new Verdict(InspectAction.PEND, "ask");
        };
        listener[0] = listener().build();
        Conn c = arrive(listener[0]);
        c.ch().runPendingTasks();

        assertThat(results).containsExactly(false);
        assertThat(c.state()).as("the refused completion changed nothing").isEqualTo(State.PENDING);
        assertThat(rec.accepted).isEmpty();
        assertThat(rec.ended).isEmpty();
    }

    @Test
    void aCompletionFromPendedIsApplied() {
        List<Boolean> results = new ArrayList<>();
        Listener[] listener = new Listener[1];
        inspector.onPended = r -> results.add(listener[0].inspectComplete(r.id(), InspectAction.ACCEPT));
        listener[0] = listener().build();
        Conn c = arrive(listener[0]);
        c.ch().runPendingTasks();

        assertThat(results).containsExactly(true);
        assertThat(c.state()).isEqualTo(State.ACCEPTED);
        assertThat(rec.pendEnded).containsExactly(PendOutcome.ACCEPT);
    }

    // ---- overflow and bounds

    @ParameterizedTest
    @EnumSource(value = InspectAction.class, names = {"ACCEPT", "REJECT"})
    void withoutAPendingSlotThePendIsRefusedAndOnOverflowApplied(InspectAction onOverflow) {
        Listener listener = listener().maxPending(0).onOverflow(onOverflow).build();
        Conn c = arrive(listener);

        assertThat(inspector.pended).as("pended() is not called").isEmpty();
        assertThat(inspector.pendRefused).containsExactly(onOverflow);
        assertThat(c.state()).isEqualTo(onOverflow == InspectAction.ACCEPT ? State.ACCEPTED : State.REJECTED);
        assertThat(rec.pendEnded).containsExactly(PendOutcome.OVERFLOW);
        InspectionEnd end = rec.onlyEnd();
        assertThat(end.outcome()).isEqualTo("overflow");
        assertThat(end.decidedBy()).isEqualTo("overflow");
        assertThat(end.action()).contains(onOverflow);
        assertThat(listener.pendingCount()).isZero();
        assertThat(listener.inspectComplete(c.id(), InspectAction.ACCEPT)).isFalse();
        if (onOverflow == InspectAction.REJECT) {
            assertThat(c.ch().soLinger()).isZero();
            assertThat(c.ch().isOpen()).isFalse();
        }
    }

    @Test
    void aSlotIsGivenBackWhenItsPendEnds() {
        Listener listener = listener().maxPending(1).build();
        Conn first = arrive(listener);
        Conn second = arrive(listener);
        assertThat(first.state()).isEqualTo(State.PENDING);
        assertThat(second.state()).as("overflow").isEqualTo(State.REJECTED);

        first.ch().receiveFin();
        Conn third = arrive(listener);

        assertThat(third.state()).isEqualTo(State.PENDING);
        assertThat(listener.pendingCount()).isEqualTo(1);
        assertThat(inspector.pended).hasSize(2);
        assertThat(inspector.pendRefused).hasSize(1);
    }

    @Test
    void whilePendedOneByteReadsStopAtHoldBytes() {
        int hold = 8;
        Listener listener = listener().holdBytes(hold).build();
        Conn c = arrive(listener);

        for (int i = 0; i < hold; i++) {
            assertThat(c.ch().readRequested()).as("read requested after %d bytes", i).isTrue();
            assertThat(c.readCap()).as("each read capped to the room left").isEqualTo(hold - i);
            c.ch().receive(String.valueOf(i));
        }
        assertThat(c.ch().readRequested()).as("no read past hold-bytes").isFalse();
        assertThat(c.ch().readRequests()).as("one read per byte, none more").isEqualTo(hold);
        assertThat(listener.pending()).singleElement().extracting(PendingInspection::heldBytes).isEqualTo(hold);
        c.ch().runPendingTasks();
        assertThat(c.ch().readRequested()).isFalse();

        listener.inspectComplete(c.id(), InspectAction.ACCEPT);
        c.ch().runPendingTasks();
        assertThat(take(rec.accepted.get(0))).isEqualTo("01234567");
        assertThat(c.readCap()).as("the cap is lifted on hand-over").isEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void bytesOfAReadRequestedWhilePendedAreKeptUntilTheNewOwnerTakesThem() {
        Listener listener = listener().build();
        Conn c = arrive(listener);
        c.ch().receive("first");

        listener.inspectComplete(c.id(), InspectAction.ACCEPT);
        c.ch().runPendingTasks();
        assertThat(c.state()).isEqualTo(State.ACCEPTED);
        assertThat(c.ch().readRequested()).as("the read asked for while pended is still out").isTrue();
        c.ch().receive("-more");

        assertThat(take(rec.accepted.get(0))).isEqualTo("first-more");
    }

    @Test
    void anAcceptedConnectionThatClosesBeforeTheHandOverIsPassedOnAndReleased() {
        OwnerLog owner = new OwnerLog();
        rec.onAccept = conn -> {
            conn.channel().pipeline().addLast(owner);
            return true;
        };
        Listener listener = listener().build();
        Conn c = arrive(listener);
        ByteBuf held = c.ch().bytes("abc");
        c.ch().receive(held);
        listener.inspectComplete(c.id(), InspectAction.ACCEPT);
        c.ch().runPendingTasks();

        c.ch().close();

        assertThat(c.state()).isEqualTo(State.CLOSED);
        assertThat(owner.events).containsExactly("inactive");
        assertThat(held.refCnt()).isZero();
        assertThat(take(rec.accepted.get(0))).as("nothing to take after the close").isEmpty();
    }

    // ---- handlers that fail or refuse

    @ParameterizedTest
    @ValueSource(strings = {"refuses", "throws"})
    void anAcceptHandlerThatRefusesClosesAndIsCounted(String how) {
        rec.onAccept = conn -> {
            if (how.equals("throws")) {
                throw new IllegalStateException("accept handler failed on purpose");
            }
            return false;
        };
        Listener listener = listener().build();
        Conn c = arrive(listener);
        ByteBuf held = c.ch().bytes("abc");
        c.ch().receive(held);

        listener.inspectComplete(c.id(), InspectAction.ACCEPT);
        c.ch().runPendingTasks();

        assertThat(rec.acceptRefused).hasValue(1);
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(c.state()).isEqualTo(State.CLOSED);
        assertThat(held.refCnt()).isZero();
        assertThat(rec.ended).hasSize(1);
        assertThat(inspector.closed).hasSize(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"throws", "null"})
    void anInspectHandlerThatFailsRejects(String how) {
        inspector.verdict = r -> {
            if (how.equals("throws")) {
                throw new IllegalStateException("inspect handler failed on purpose");
            }
            return null;
        };
        Conn c = arrive(listener().build());

        assertThat(c.state()).isEqualTo(State.REJECTED);
        assertThat(c.ch().soLinger()).isZero();
        assertThat(c.ch().isOpen()).isFalse();
        assertThat(rec.inspected).containsExactly(InspectAction.REJECT);
        InspectionEnd end = rec.onlyEnd();
        assertThat(end.rule()).isEqualTo("error");
        assertThat(end.decidedBy()).isEqualTo("error");
        assertThat(end.action()).contains(InspectAction.REJECT);
        assertThat(rec.accepted).isEmpty();
    }

    @Test
    void aPendedCallbackThatFailsLeavesItToTheDeadline() {
        inspector.onPended = r -> {
            throw new IllegalStateException("pended failed on purpose");
        };
        Conn c = arrive(listener().build());

        assertThat(c.state()).isEqualTo(State.PENDING);
        c.ch().advance(TIMEOUT);
        assertThat(c.state()).isEqualTo(State.REJECTED);
        assertThat(rec.aborts).containsExactly(AbortReason.TIMEOUT);
    }
}
