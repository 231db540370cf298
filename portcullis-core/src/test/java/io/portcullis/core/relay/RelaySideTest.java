package io.portcullis.core.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.portcullis.core.PipelineNames;
import io.portcullis.core.testing.EmbeddedSocket;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One {@link Relay} and its two {@link RelaySide}s on {@link EmbeddedSocket}s: the client's, and a backend's
 * that a {@link BackendConnector} hands out and whose connect the test completes or fails. Ordering of early
 * bytes, both directions, backpressure, half-close, failover, idle, resets, without sockets or threads.
 */
class RelaySideTest {

    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.2", 40000);
    private static final InetSocketAddress GATEWAY = new InetSocketAddress("127.0.0.1", 8443);
    private static final InetSocketAddress B1 = new InetSocketAddress("127.0.0.1", 9001);
    private static final InetSocketAddress B2 = new InetSocketAddress("127.0.0.1", 9002);
    /** Small enough that a test's few hundred bytes cross it (each queued write also counts ~100 bytes overhead). */
    private static final WriteBufferWaterMark SMALL = new WriteBufferWaterMark(256, 512);
    private static final RelaySettings SETTINGS = new RelaySettings(Duration.ofSeconds(2), Duration.ofHours(1));

    private final RecordingRelayObserver observer = new RecordingRelayObserver();
    private final Backends backends = new Backends();
    private final List<EmbeddedSocket> channels = new ArrayList<>();
    private EmbeddedSocket client;
    private BackendPool pool;
    private Relay relay;
    /** The early data given to the relay at start. */
    private ByteBuf handedOver;

    @AfterEach
    void finish() {
        for (EmbeddedSocket ch : channels) {
            ch.finishAndReleaseAll();
        }
    }

    // ---- fixtures

    /** How the connector answers each attempt: the test decides later, or at once. */
    enum Connect { LATER, SUCCEED_AT_ONCE, FAIL_AT_ONCE }

    /** One backend connect: the backend's socket and the connect the test completes. */
    record Attempt(InetSocketAddress address, EmbeddedSocket ch, ChannelPromise connect) {
        void succeed() {
            connect.setSuccess();
            ch.runPendingTasks();
        }

        void fail() {
            connect.setFailure(new ConnectException("Connection refused: " + address));
        }
    }

    /** Backends as EmbeddedSockets: each attempt makes one, with the relay's side as its pipeline. */
    private final class Backends implements BackendConnector {
        final List<Attempt> attempts = new ArrayList<>();
        Connect mode = Connect.LATER;

        @Override
        public ChannelFuture connect(EventLoop loop, ChannelHandler handler, InetSocketAddress backend) {
            EmbeddedSocket ch = new EmbeddedSocket(backend, new InetSocketAddress("127.0.0.1", 50000 + attempts.size()));
            channels.add(ch);
            ch.config().setWriteBufferWaterMark(SMALL);
            ch.pipeline().addLast(handler);
            ch.activate();
            ChannelPromise connect = ch.newPromise();
            Attempt attempt = new Attempt(backend, ch, connect);
            attempts.add(attempt);
            switch (mode) {
                case SUCCEED_AT_ONCE -> connect.setSuccess();
                case FAIL_AT_ONCE -> attempt.fail();
                case LATER -> { }
            }
            return connect;
        }

        Attempt last() {
            return attempts.get(attempts.size() - 1);
        }

        EmbeddedSocket backend() {
            return last().ch();
        }
    }

    /** A client relayed to {@code backends} (tried in this order), {@code early} the bytes handed over. */
    private Relay start(RelaySettings settings, String early, InetSocketAddress... backendAddresses) {
        pool = new BackendPool(List.of(backendAddresses), Balance.ROUND_ROBIN);
        RelayAcceptHandler owner = new RelayAcceptHandler("embedded", pool, settings, observer, backends);
        client = new EmbeddedSocket(CLIENT, GATEWAY);
        channels.add(client);
        client.config().setWriteBufferWaterMark(SMALL);
        client.activate();
        relay = new Relay(owner, client);
        client.pipeline().addLast(PipelineNames.RELAY, relay.clientSide());
        handedOver = early.isEmpty() ? Unpooled.EMPTY_BUFFER : client.bytes(early);
        relay.start(handedOver, 0, null);
        client.runPendingTasks();
        return relay;
    }

    /** A relay whose backend is connected. */
    private Relay relaying() {
        start(SETTINGS, "", B1);
        backends.last().succeed();
        assertThat(relay.state()).isEqualTo(Relay.State.RELAYING);
        return relay;
    }

    private static String text(int n, char from) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append((char) (from + i % 26));
        }
        return sb.toString();
    }

    /** Every relay ended once and gave its backend slot back. */
    private void assertClosedOnce() {
        assertThat(relay.state()).isEqualTo(Relay.State.CLOSED);
        assertThat(client.isOpen()).as("client closed").isFalse();
        assertThat(observer.opened).hasValue(1);
        assertThat(observer.closed).hasValue(1);
        for (int i = 0; i < pool.size(); i++) {
            assertThat(pool.active(i)).as("connections counted on backend %d", i).isZero();
        }
        for (Attempt a : backends.attempts) {
            assertThat(a.ch().isOpen()).as("backend channel of %s closed", a.address()).isFalse();
        }
    }

    // ---- bytes

    @Test
    void earlyBytesGoFirstThenWhatCameWhileConnectingThenTheRest() {
        start(SETTINGS, "EARLY|", B1);
        assertThat(backends.attempts).extracting(Attempt::address).containsExactly(B1);
        assertThat(client.readRequested()).as("the client is read while connecting").isTrue();

        client.receive("while|");
        assertThat(backends.backend().written()).as("nothing before the connect").isEmpty();

        backends.last().succeed();
        assertThat(backends.backend().written()).isEqualTo("EARLY|while|");
        assertThat(client.readRequested()).isTrue();
        client.receive("after");

        assertThat(backends.backend().written()).isEqualTo("EARLY|while|after");
        assertThat(observer.upstream).hasValue("EARLY|while|after".length());
        assertThat(pool.active(0)).isEqualTo(1);
        assertThat(relay.clientSide().peerChannel()).isSameAs(backends.backend());
    }

    @Test
    void bytesFlowBothWaysAndAreCounted() {
        relaying();
        EmbeddedSocket backend = backends.backend();
        assertThat(client.readRequested()).isTrue();
        assertThat(backend.readRequested()).isTrue();

        client.receive("ping");
        backend.receive("pong");
        client.receive("ping2");
        backend.receive("pong2");

        assertThat(backend.written()).isEqualTo("pingping2");
        assertThat(client.written()).isEqualTo("pongpong2");
        assertThat(observer.upstream).hasValue(9);
        assertThat(observer.downstream).hasValue(9);
        assertThat(client.readRequested()).isTrue();
        assertThat(backend.readRequested()).isTrue();
    }

    @Test
    void oneByteSegmentsArriveWholeAndInOrderBothWays() {
        relaying();
        EmbeddedSocket backend = backends.backend();
        String up = text(1500, 'a');
        String down = text(1500, 'A');

        client.receiveByteByByte(up);
        backend.receiveByteByByte(down);

        assertThat(backend.written()).isEqualTo(up);
        assertThat(client.written()).isEqualTo(down);
        assertThat(observer.upstream).hasValue(up.length());
        assertThat(observer.downstream).hasValue(down.length());
    }

    @Test
    void whileConnectingTheClientIsReadUpToTheBoundThenNotAtAll() {
        start(SETTINGS, "", B1);
        String segment = text(1024, 'a');
        StringBuilder sent = new StringBuilder();
        int reads = 0;
        while (client.readRequested() && reads < 1000) {
            client.receive(segment);
            sent.append(segment);
            reads++;
        }
        assertThat(reads).as("reads until the bound").isEqualTo(Relay.HOLD_WHILE_CONNECTING / segment.length());
        assertThat(client.readRequested()).isFalse();

        backends.last().succeed();
        assertThat(backends.backend().written()).isEqualTo(sent.toString());
        assertThat(client.readRequested()).as("reading again once relaying").isTrue();
    }

    // ---- backpressure

    @ParameterizedTest
    @ValueSource(strings = {"upstream", "downstream"})
    void aPeerThatStopsTakingBytesStopsTheReadingUntilItDrains(String direction) {
        relaying();
        boolean up = direction.equals("upstream");
        EmbeddedSocket reader = up ? client : backends.backend();
        EmbeddedSocket writer = up ? backends.backend() : client;
        writer.stall();

        reader.receive("small");
        assertThat(writer.isWritable()).as("below the high water mark").isTrue();
        assertThat(reader.readRequested()).isTrue();

        String burst = text(600, 'a');
        reader.receive(burst);
        assertThat(writer.isWritable()).as("past the high water mark").isFalse();
        assertThat(reader.readRequested()).as("no read while the peer is full").isFalse();
        assertThat(writer.written()).isEmpty();
        assertThat(writer.queuedBytes()).as("the water mark plus one read").isLessThanOrEqualTo(SMALL.high() + burst.length());
        int readsWhilePaused = reader.readRequests();

        writer.drain();
        assertThat(writer.written()).isEqualTo("small" + burst);
        assertThat(writer.isWritable()).isTrue();
        assertThat(reader.readRequested()).as("reading resumes on writability").isTrue();
        assertThat(reader.readRequests()).isEqualTo(readsWhilePaused + 1);

        reader.receive("more");
        assertThat(writer.written()).isEqualTo("small" + burst + "more");
    }

    // ---- half-close

    @ParameterizedTest
    @ValueSource(strings = {"client first", "backend first"})
    void eachFinIsPassedOnAfterTheDataAndBothFinsClose(String order) {
        relaying();
        boolean clientFirst = order.equals("client first");
        EmbeddedSocket first = clientFirst ? client : backends.backend();
        EmbeddedSocket second = clientFirst ? backends.backend() : client;

        if (!clientFirst) {
            client.receive("request");
        }
        first.receive("last words");
        first.receiveFin();
        if (!clientFirst) {
            // The client sent just now: the backend might yet refuse those bytes, so its FIN waits.
            client.advance(Duration.ofNanos(Relay.FIN_SETTLE_NANOS - 1));
            assertThat(client.isOutputShutdown()).as("backend FIN held").isFalse();
            assertThat(client.written()).as("its data is not held").isEqualTo("last words");
            client.advance(Duration.ofMillis(1));
        }
        assertThat(second.isOutputShutdown()).as("FIN passed on").isTrue();
        assertThat(second.bytesBeforeFin()).as("after the data").isEqualTo("last words".length());
        assertThat(second.unwrittenAtFin()).isZero();
        assertThat(relay.state()).as("half-closed, still relaying the other way").isEqualTo(Relay.State.RELAYING);

        second.receive("reply");
        assertThat(first.written()).isEqualTo(clientFirst ? "reply" : "requestreply");
        second.receiveFin();

        assertThat(first.isOpen()).as("both FINs: closed").isFalse();
        assertThat(second.isOpen()).isFalse();
        assertClosedOnce();
    }

    @Test
    void aBackendFinBeforeTheClientSentAnythingIsPassedOnAtOnce() {
        relaying();
        backends.backend().receive("banner");
        backends.backend().receiveFin();
        assertThat(client.isOutputShutdown()).isTrue();
        assertThat(client.written()).isEqualTo("banner");
    }

    @Test
    void aBackendFinHeldWhileTheClientKeepsSendingGoesAfterTheBound() {
        relaying();
        EmbeddedSocket backend = backends.backend();
        client.receive("a");
        backend.receiveFin();
        long step = Relay.FIN_SETTLE_NANOS / 2;
        for (long held = 0; held + step < Relay.FIN_HOLD_MAX_NANOS; held += step) {
            client.receive("a");
            client.advance(Duration.ofNanos(step));
            assertThat(client.isOutputShutdown()).as("held after %d ns", held + step).isFalse();
        }
        client.advance(Duration.ofNanos(step));
        assertThat(client.isOutputShutdown()).as("bound reached").isTrue();
        assertThat(relay.state()).isEqualTo(Relay.State.RELAYING);
    }

    @Test
    void aBackendResetWhileItsFinIsHeldResetsTheClient() {
        relaying();
        EmbeddedSocket backend = backends.backend();
        client.receive("request");
        backend.receive("partial");
        backend.receiveFin();
        backend.receiveReset();

        assertThat(client.written()).isEqualTo("partial");
        assertThat(client.isOutputShutdown()).as("no clean end").isFalse();
        assertThat(client.soLinger()).as("reset").isZero();
        assertClosedOnce();
    }

    @Test
    void aBackendThatClosesWhileItsFinIsHeldResetsTheClient() {
        relaying();
        EmbeddedSocket backend = backends.backend();
        client.receive("request");
        backend.receiveFin();
        backend.close();
        backend.runPendingTasks();

        assertThat(client.isOutputShutdown()).isFalse();
        assertThat(client.soLinger()).isZero();
        assertClosedOnce();
    }

    @Test
    void theClientsFinWhileTheBackendFinIsHeldReachesTheBackendOnRelease() {
        relaying();
        EmbeddedSocket backend = backends.backend();
        client.receive("request");
        backend.receiveFin();
        client.receive("more");
        client.receiveFin();
        assertThat(backend.written()).isEqualTo("requestmore");
        assertThat(backend.isOutputShutdown()).as("waits for the check").isFalse();
        assertThat(backend.isOpen()).isTrue();

        client.advance(Duration.ofNanos(Relay.FIN_SETTLE_NANOS));
        // Both directions done at once: closed without a shutdown first, each close sending its FIN.
        assertThat(client.isOpen()).as("backend FIN passed on by the close").isFalse();
        assertThat(client.isOutputShutdown()).as("no shutdown() before the close").isFalse();
        assertThat(client.soLinger()).as("a FIN, not a reset").isNotZero();
        assertThat(backend.isOpen()).as("client FIN passed on by the close").isFalse();
        assertThat(backend.soLinger()).isNotZero();
        assertClosedOnce();
    }

    @Test
    void closingWhileABackendFinIsHeldCancelsItsTimer() {
        relaying();
        client.receive("request");
        backends.backend().receiveFin();
        assertThat(relay.finCheckScheduled()).isTrue();
        client.receiveReset();

        assertClosedOnce();
        assertThat(relay.finCheckScheduled()).as("timer cancelled").isFalse();
    }

    @Test
    void aFinBehindBackpressuredBytesWaitsForThem() {
        relaying();
        EmbeddedSocket backend = backends.backend();
        backend.stall();
        String burst = text(600, 'a');

        client.receive(burst);
        client.receiveFin();
        assertThat(backend.isOutputShutdown()).as("not before the bytes are out").isFalse();

        backend.drain();
        assertThat(backend.isOutputShutdown()).isTrue();
        assertThat(backend.bytesBeforeFin()).isEqualTo(burst.length());
        assertThat(backend.unwrittenAtFin()).isZero();
    }

    @Test
    void aFinWhileConnectingWithNothingSentAbandonsTheConnect() {
        start(SETTINGS, "", B1);
        Attempt attempt = backends.last();

        client.receiveFin();

        assertClosedOnce();
        attempt.succeed(); // too late: the relay closed it
        assertThat(attempt.ch().isOpen()).isFalse();
        assertThat(attempt.ch().written()).isEmpty();
        assertThat(backends.attempts).as("no other backend tried").hasSize(1);
        assertThat(observer.failedBackends).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"handed over", "read while connecting"})
    void aFinWhileConnectingAfterBytesIsPassedOnOnceConnected(String where) {
        boolean given = where.equals("handed over");
        start(SETTINGS, given ? "hi" : "", B1);
        if (!given) {
            client.receive("hi");
        }

        client.receiveFin();
        assertThat(relay.state()).as("a half-close, not a departure").isEqualTo(Relay.State.CONNECTING);

        backends.last().succeed();
        EmbeddedSocket backend = backends.backend();
        assertThat(backend.written()).isEqualTo("hi");
        assertThat(backend.isOutputShutdown()).isTrue();
        assertThat(backend.bytesBeforeFin()).isEqualTo(2);
        backend.receive("bye");
        assertThat(client.written()).isEqualTo("bye");
        backend.receiveFin();
        assertClosedOnce();
    }

    // ---- connect failures

    @Test
    void aFailedConnectTriesTheNextBackendThenClosesWhenAllFail() {
        start(SETTINGS, "early", B1, B2);
        client.receive("more");

        backends.last().fail();
        assertThat(backends.attempts).extracting(Attempt::address).containsExactly(B1, B2);
        assertThat(observer.failedBackends).containsExactly("127.0.0.1:9001");
        assertThat(pool.active(0)).isZero();
        assertThat(pool.active(1)).isEqualTo(1);
        assertThat(relay.state()).isEqualTo(Relay.State.CONNECTING);

        backends.last().fail();
        assertThat(observer.failedBackends).containsExactly("127.0.0.1:9001", "127.0.0.1:9002");
        assertThat(observer.allFailed).hasValue(1);
        assertClosedOnce();
        assertThat(client.written()).as("not a byte to the client").isEmpty();
        assertThat(handedOver.refCnt()).as("held bytes released").isZero();
    }

    @Test
    void theNextBackendGetsTheEarlyBytesWhenTheFirstFails() {
        start(SETTINGS, "early", B1, B2);
        backends.last().fail();
        backends.last().succeed();

        assertThat(relay.state()).isEqualTo(Relay.State.RELAYING);
        assertThat(backends.attempts.get(0).ch().written()).isEmpty();
        assertThat(backends.attempts.get(0).ch().isOpen()).as("the failed attempt's channel").isFalse();
        assertThat(backends.backend().written()).isEqualTo("early");
        assertThat(pool.active(0)).isZero();
        assertThat(pool.active(1)).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"SUCCEED_AT_ONCE", "FAIL_AT_ONCE"})
    void aConnectThatIsDoneAtOnceIsHandledInline(Connect mode) {
        backends.mode = mode;
        start(SETTINGS, "early", B1, B2);

        if (mode == Connect.SUCCEED_AT_ONCE) {
            assertThat(relay.state()).isEqualTo(Relay.State.RELAYING);
            assertThat(backends.backend().written()).isEqualTo("early");
            assertThat(client.readRequested()).isTrue();
        } else {
            assertThat(backends.attempts).hasSize(2);
            assertThat(observer.allFailed).hasValue(1);
            assertClosedOnce();
        }
    }

    // ---- idle, reset, close

    @Test
    void anIdleRelayIsClosed() {
        start(SETTINGS, "", B1);
        backends.last().succeed();

        client.advance(SETTINGS.idleTimeout().minusMillis(1));
        assertThat(relay.state()).as("not idle long enough").isEqualTo(Relay.State.RELAYING);
        client.advance(Duration.ofMillis(1));
        assertThat(relay.state()).isEqualTo(Relay.State.CLOSED);
        assertClosedOnce();
        assertThat(client.soLinger()).as("a plain close, not a reset").isEqualTo(-1);
    }

    @Test
    void anIdleTimerThatFiresEarlyReArmsInsteadOfClosing() {
        relaying();
        // Half the idle timeout passes, then the client sends a byte: when the timer fires at the full timeout,
        // the relay has been idle for half of it only.
        client.advance(SETTINGS.idleTimeout().dividedBy(2));
        client.receive("x");
        client.advance(SETTINGS.idleTimeout().dividedBy(2));
        assertThat(relay.state()).isEqualTo(Relay.State.RELAYING);
        assertThat(client.runScheduledPendingTasks()).as("the timer is armed again").isPositive();
        client.advance(SETTINGS.idleTimeout());
        assertThat(relay.state()).as("idle for the whole timeout since").isEqualTo(Relay.State.CLOSED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"client resets", "backend resets"})
    void aResetOnOneSideResetsTheOther(String who) {
        relaying();
        boolean clientResets = who.equals("client resets");
        EmbeddedSocket resetting = clientResets ? client : backends.backend();
        EmbeddedSocket other = clientResets ? backends.backend() : client;

        resetting.receiveReset();

        assertThat(other.soLinger()).as("SO_LINGER 0: the other side is reset too").isZero();
        assertThat(other.isOpen()).isFalse();
        assertClosedOnce();
    }

    @Test
    void aResetWhileConnectingAbandonsTheConnect() {
        start(SETTINGS, "early", B1);
        client.receive("held");
        client.receiveReset();

        assertClosedOnce();
        assertThat(handedOver.refCnt()).as("held bytes released").isZero();
        assertThat(backends.attempts).hasSize(1);
        assertThat(backends.backend().written()).isEmpty();
    }

    /**
     * A socket closed while relaying, not by the relay: Netty closes a socket whose write failed, and that write took
     * the peer's reset, so no read reports it. The stream was cut; the other end must not see a clean end.
     */
    @ParameterizedTest
    @ValueSource(strings = {"client closes", "backend closes"})
    void aSocketClosedUnderTheRelayResetsTheOtherSide(String who) {
        relaying();
        boolean clientCloses = who.equals("client closes");
        EmbeddedSocket closing = clientCloses ? client : backends.backend();
        EmbeddedSocket other = clientCloses ? backends.backend() : client;
        closing.receive("bye");

        closing.close();

        assertThat(other.written()).isEqualTo("bye");
        assertThat(other.isOpen()).isFalse();
        assertThat(other.soLinger()).as("SO_LINGER 0: a reset").isZero();
        assertClosedOnce();
    }
}
