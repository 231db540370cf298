package io.portcullis.core.relay;

import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.portcullis.core.InspectRequest;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.RawUnixChannelOption;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.core.EarlyBytes;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One accepted connection relayed to one backend: the connection's state machine.
 *
 * <pre>
 * CONNECTING ──backend connected──▶ RELAYING ──both FINs passed on, idle, error, a side closed──▶ CLOSED
 *     │ a backend fails: try the next                                                         ▲
 *     └──every backend failed, client left, idle, error──────────────────────────────────────┘
 * </pre>
 *
 * <p>Everything runs on the client's event loop: the backend channel is registered on that same loop,
 * so neither side needs a lock or a volatile. While connecting, the client is read up to
 * {@link #HOLD_WHILE_CONNECTING} bytes, so that a client that leaves (reset, or FIN without having sent
 * anything) is noticed and the connect abandoned; those bytes are kept behind the early data in one
 * bounded {@link EarlyBytes} and written to the backend before anything else. A FIN after some bytes is a half-close:
 * the connect goes on and the FIN follows the bytes.
 *
 * <p>Idle: a relay with no byte read on either side, and neither side draining, for the idle timeout is
 * closed. One timer per relay that re-arms itself for the time left, and a time stamp per read batch:
 * cheaper than Netty's IdleStateHandler, which adds a listener to every write.
 *
 * <p>A backend FIN while client bytes are still on their way to it is held back from the client. A backend
 * whose process died sends a FIN when its receive queue was empty, and then a reset for every byte that
 * arrives after: passed on at once, that FIN would end the client's stream cleanly although it was cut
 * ({@code read()} returns end of stream even when the reset follows). So the FIN waits until the backend has
 * had time to refuse every byte sent to it: none queued, none written for {@link #FIN_SETTLE_NANOS} (bytes the
 * client sent may still be on their way to us), and on epoll and io_uring ({@code TCP_INFO}) none unsent or
 * unacknowledged and no reset; at most {@link #FIN_HOLD_MAX_NANOS}; a reset or write error meanwhile resets the
 * client, which never saw a FIN. Once the client's own FIN is read no byte more can come, so with
 * {@code TCP_INFO} the check is then conclusive at once, without the settle time (a closed socket answers data
 * with a reset, never an acknowledgement: an acknowledged byte was taken by a live one). A backend that
 * half-closes while the client keeps sending gets its FIN through after that bound.
 */
final class Relay implements ChannelFutureListener, Runnable {

    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    enum State { CONNECTING, RELAYING, CLOSED }

    /** Client bytes held while connecting; past it the client is not read (its TCP window fills). */
    static final int HOLD_WHILE_CONNECTING = RelayAcceptHandler.WATER_MARK.high();

    private final RelayAcceptHandler owner;
    /** The pool this relay's backend comes from: the handler's default or the connection's route. */
    private final BackendPool pool;
    private final Channel clientChannel;
    private final RelaySide client;
    private RelaySide backend;
    private Channel backendChannel;
    private State state = State.CONNECTING;
    private int first;
    private int attempt;
    /** Index of the backend counted in the pool for this relay, -1 when none is. */
    private int backendIndex = -1;
    /** Client bytes not yet written to the backend; null once handed over. */
    private EarlyBytes early;
    /** The PROXY-protocol header for the backend, until written; released with the relay otherwise. */
    private HAProxyMessage header;
    /** Nanotime of the last read batch on either side, or of a side draining. */
    private long lastActivity;
    private ScheduledFuture<?> idleTimer;

    /**
     * The first check of a held backend FIN after the client's bytes settled; the next ones back off, up to
     * {@link #FIN_CHECK_MAX_NANOS}.
     */
    static final long FIN_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    static final long FIN_CHECK_MAX_NANOS = TimeUnit.MILLISECONDS.toNanos(64);
    /** Without TCP_INFO: how long no client byte may have gone to the backend before its FIN is passed on. */
    static final long FIN_SETTLE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** A held backend FIN is passed on after this long in any case. */
    static final long FIN_HOLD_MAX_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int TCP_CLOSE_WAIT = 8;
    private static final int TCP_CLOSE = 7;
    /**
     * {@code getsockopt(IPPROTO_TCP, TCP_INFO)} as raw bytes: Netty's io_uring channel has no {@code tcpInfo()}, and
     * its epoll {@code EpollTcpInfo} stops before {@code tcpi_notsent_bytes}. Of {@code struct tcp_info} only
     * {@code tcpi_state} (byte 0), {@code tcpi_unacked} (bytes 24-27) and {@code tcpi_notsent_bytes} (144-147, since
     * Linux 4.6; counted as 0 where the kernel's answer is shorter) are read.
     */
    private static final RawUnixChannelOption TCP_INFO = new RawUnixChannelOption("TCP_INFO", 6, 11, 148);
    private static final int TCPI_UNACKED = 24;
    private static final int TCPI_NOTSENT_BYTES = 144;
    /** What {@link #backendTcpState} answers for a closed socket (a real answer is never negative). */
    private static final long TCP_GONE = -1L;

    private enum FinHold { NONE, HELD, RELEASED }

    private FinHold finHold = FinHold.NONE;
    private long finHeldSince;
    /** Nanotime of the last client bytes flushed to the backend. */
    private long lastUpstream;
    private final Runnable finCheck = this::checkHeldFin;
    private final InspectRequest request;
    private ScheduledFuture<?> finTimer;
    private long finCheckDelay;

    Relay(RelayAcceptHandler owner, Channel clientChannel) {
        this(owner, owner.pool(), clientChannel, null);
    }

    Relay(RelayAcceptHandler owner, BackendPool pool, Channel clientChannel, InspectRequest request) {
        this.owner = owner;
        this.pool = pool;
        this.clientChannel = clientChannel;
        this.request = request;
        this.client = new RelaySide(this, RelayObserver.UPSTREAM);
    }

    /** What the connection was inspected with; null for a connection that never was. */
    InspectRequest request() {
        return request;
    }

    Channel clientChannel() {
        return clientChannel;
    }

    /** The handler for the client's pipeline; install it before {@link #start}. */
    RelaySide clientSide() {
        return client;
    }

    State state() {
        return state;
    }

    RelayAcceptHandler owner() {
        return owner;
    }

    /** The backend channel of the current attempt or of the relay; null before the first attempt. For tests. */
    Channel backendChannel() {
        return backendChannel;
    }

    /** The only place the state changes; false when the move is not allowed (e.g. already closed). */
    private boolean moveTo(State next) {
        boolean allowed = switch (state) {
            case CONNECTING -> next == State.RELAYING || next == State.CLOSED;
            case RELAYING -> next == State.CLOSED;
            case CLOSED -> false;
        };
        if (allowed) {
            state = next;
        }
        return allowed;
    }

    /**
     * Takes ownership of {@code earlyData} and starts connecting at pool index {@code first}; {@code header},
     * when present, is written to the backend before anything else.
     */
    void start(ByteBuf earlyData, int first, HAProxyMessage header) {
        this.header = header;
        this.early = EarlyBytes.of(clientChannel, HOLD_WHILE_CONNECTING, earlyData);
        this.first = first;
        owner.observer().connectionOpened(owner.listener());
        owner.opened(this);
        lastActivity = clientChannel.eventLoop().ticker().nanoTime();
        // A client that has not sent yet has nothing the backend could refuse: its FIN is not held.
        lastUpstream = lastActivity - FIN_SETTLE_NANOS;
        armIdleTimer(owner.settings().idleTimeout().toNanos());
        connectNext();
        if (state == State.CONNECTING) {
            client.readWhileConnecting();
        }
    }

    private void connectNext() {
        int index = pool.attempt(first, attempt++);
        if (index < 0) {
            owner.observer().allBackendsFailed(owner.listener());
            log.debug("Listener '{}': no backend of {} reachable; closing {}", owner.listener(), pool, clientChannel);
            close();
            return;
        }
        backendIndex = index;
        pool.opened(index);
        backend = new RelaySide(this, RelayObserver.DOWNSTREAM);
        client.peer = backend;
        backend.peer = client;
        ChannelFuture connect = owner.connect(clientChannel.eventLoop(), backend, pool.backend(index));
        backendChannel = connect.channel();
        // May run at once, and then recurse into the next attempt: depth is bounded by the pool's size.
        connect.addListener(this);
    }

    /** The backend connect of the current attempt finished. */
    @Override
    public void operationComplete(ChannelFuture connect) {
        if (!clientChannel.eventLoop().inEventLoop()) {
            // A socket that could not be made (EMFILE at socket()) fails the connect on Netty's global executor:
            // back to this connection's loop, which alone changes the relay's state.
            try {
                clientChannel.eventLoop().execute(() -> operationComplete(connect));
            } catch (RejectedExecutionException e) {
                // The loop is shutting down and closes the client with it.
            }
            return;
        }
        if (state != State.CONNECTING || connect.channel() != backendChannel) {
            // The client left meanwhile; close() has closed this channel already.
            closeAttempt(connect.channel());
            return;
        }
        if (connect.isSuccess()) {
            connected();
            return;
        }
        log.debug("Listener '{}': backend {} failed: {}", owner.listener(), pool.label(backendIndex),
                connect.cause().toString());
        owner.observer().backendConnectFailed(owner.listener(), pool.label(backendIndex));
        pool.closed(backendIndex);
        backendIndex = -1;
        backend = null;
        backendChannel = null;
        closeAttempt(connect.channel());
        connectNext();
    }

    private void connected() {
        moveTo(State.RELAYING);
        if (header != null) {
            ProxyHeaderOut.write(backendChannel, header);
            header = null;
        }
        ByteBuf data = early.take();
        early = null;
        if (data.isReadable()) {
            client.forward(data);
        } else {
            data.release();
            if (owner.settings().sendProxy() != RelaySettings.SendProxy.OFF) {
                backendChannel.flush();
            }
        }
        client.afterRead();
        backend.readMore();
    }

    /** Whether the client may be read further while connecting. */
    boolean mayHoldMore() {
        return state == State.CONNECTING && early.hasRoom();
    }

    /**
     * The client sent FIN while the backend connect is in flight. With nothing sent before it the client
     * has left, so the connect is abandoned; after some bytes it is a half-close, passed on once connected.
     */
    void clientFinWhileConnecting() {
        if (early.isEmpty()) {
            log.debug("Listener '{}': {} left while connecting", owner.listener(), clientChannel);
            close();
        }
    }

    /** Client bytes read while connecting; kept behind the early data. */
    void holdEarly(ByteBuf buf) {
        early.add(buf);
    }

    boolean isCurrent(RelaySide side) {
        return side == client || side == backend;
    }

    /** Bytes moved, or a side drained: the relay is not idle. */
    void touch() {
        lastActivity = clientChannel.eventLoop().ticker().nanoTime();
    }

    /** Client bytes were flushed to the backend. */
    void upstreamWritten() {
        lastUpstream = clientChannel.eventLoop().ticker().nanoTime();
    }

    /**
     * The backend sent FIN: whether it is held back from the client for now ({@link RelaySide#releaseFin} passes
     * it on later). Held only while the client may still send and the backend may yet refuse bytes sent to it.
     */
    boolean holdBackendFin() {
        switch (finHold) {
            case HELD:
                return true;
            case RELEASED:
                return false;
            default:
                break;
        }
        Boolean verdict = state != State.RELAYING ? Boolean.TRUE
                : !client.inputShutSeen() ? mayReleaseFin(false)
                : resetBeforeOurFin() ? Boolean.FALSE : Boolean.TRUE;
        if (verdict == Boolean.TRUE) {
            finHold = FinHold.RELEASED;
            return false;
        }
        finHold = FinHold.HELD;
        if (verdict == Boolean.FALSE) {
            abort(backend, new ChannelException("backend reset after its FIN"));
            return true;
        }
        finHeldSince = clientChannel.eventLoop().ticker().nanoTime();
        finCheckDelay = FIN_CHECK_NANOS;
        scheduleFinCheck();
        return true;
    }

    /** Whether the check of a held backend FIN is scheduled. For tests. */
    boolean finCheckScheduled() {
        return finTimer != null;
    }

    /** Whether a backend FIN is held back from the client. */
    boolean backendFinHeld() {
        return finHold == FinHold.HELD;
    }

    /**
     * TRUE: every byte sent to the backend is acknowledged (or, without TCP_INFO, has had time to be refused);
     * FALSE: the backend reset the connection; null: not known yet. {@code last}: the hold's bound is reached, so a
     * reset is looked for even though the client's bytes have not settled.
     */
    private Boolean mayReleaseFin(boolean last) {
        ChannelOutboundBuffer out = backendChannel.unsafe().outboundBuffer();
        boolean settled = (out == null || out.totalPendingWriteBytes() == 0)
                && (clientDone() || clientChannel.eventLoop().ticker().nanoTime() - lastUpstream >= FIN_SETTLE_NANOS);
        if (hasTcpInfo(backendChannel)) {
            if (!backendChannel.isOpen()) {
                return Boolean.FALSE;
            }
            if (!settled && !last) {
                // TCP_INFO (a system call) only once the FIN could go: before, it could only find a reset, which the
                // check at that moment finds as well, the FIN being held until then either way.
                return null;
            }
            long info = backendTcpState();
            if (info == TCP_GONE || (int) (info >>> 32) == TCP_CLOSE) {
                return Boolean.FALSE;
            }
            settled &= (int) (info >>> 32) == TCP_CLOSE_WAIT && (int) info == 0;
        }
        return settled ? Boolean.TRUE : null;
    }

    /** The client's FIN is read, and TCP_INFO can tell what the backend took: no settle time is needed. */
    private boolean clientDone() {
        return client.inputShutSeen() && hasTcpInfo(backendChannel);
    }

    /**
     * Whether what reads as the backend's FIN, after the client has sent all it will, was a reset: the backend closed
     * with bytes of ours unread. Linux reports a reset's error to one call only; on io_uring the write of those bytes
     * may take it and the read that follows finds an end of stream, which must not reach the client as a clean end.
     * Before our own FIN went to the backend, a socket whose state is {@code TCP_CLOSE} was reset (after an orderly
     * FIN it would be {@code CLOSE_WAIT}). Without TCP_INFO: false, as before.
     */
    private boolean resetBeforeOurFin() {
        if (!hasTcpInfo(backendChannel) || ((DuplexChannel) backendChannel).isOutputShutdown()) {
            return false;
        }
        long info = backendTcpState();
        return info == TCP_GONE || (int) (info >>> 32) == TCP_CLOSE;
    }

    private static boolean hasTcpInfo(Channel ch) {
        return ch instanceof EpollSocketChannel || ch instanceof IoUringSocketChannel;
    }

    /** {@link #tcpStateAndOutstanding} of the backend (a TCP_INFO channel), or {@link #TCP_GONE} once its socket is closed. */
    private long backendTcpState() {
        if (!backendChannel.isOpen()) {
            return TCP_GONE;
        }
        try {
            return tcpStateAndOutstanding(backendChannel);
        } catch (ChannelException e) {
            return TCP_GONE;
        }
    }

    /**
     * {@code tcpi_state} in the high 32 bits; in the low 32, 0 when every byte written to the socket is sent and
     * acknowledged, else {@code tcpi_unacked + tcpi_notsent_bytes} (at most {@link Integer#MAX_VALUE}); of an epoll or
     * io_uring TCP channel.
     *
     * @throws ChannelException when the socket cannot tell (closed)
     */
    static long tcpStateAndOutstanding(Channel ch) {
        ByteBuffer info = ch.config().getOption(TCP_INFO).order(ByteOrder.nativeOrder());
        long unacked = info.getInt(TCPI_UNACKED) & 0xffffffffL;
        long notsent = info.limit() >= TCPI_NOTSENT_BYTES + 4 ? info.getInt(TCPI_NOTSENT_BYTES) & 0xffffffffL : 0;
        return ((long) (info.get(0) & 0xff) << 32) | Math.min(unacked + notsent, Integer.MAX_VALUE);
    }

    /**
     * The next check: when the client's last bytes have settled (no check before could let the FIN go), then
     * backing off (a few dozen system calls per held FIN, not one a millisecond); never past the hold's bound.
     */
    private void scheduleFinCheck() {
        long now = clientChannel.eventLoop().ticker().nanoTime();
        long delay;
        long untilSettled = clientDone() ? 0 : lastUpstream + FIN_SETTLE_NANOS - now;
        if (untilSettled > 0) {
            delay = untilSettled;
        } else {
            delay = finCheckDelay;
            finCheckDelay = Math.min(finCheckDelay * 2, FIN_CHECK_MAX_NANOS);
        }
        delay = Math.max(1, Math.min(delay, finHeldSince + FIN_HOLD_MAX_NANOS - now));
        finTimer = clientChannel.eventLoop().schedule(finCheck, delay, TimeUnit.NANOSECONDS);
    }

    /**
     * The client's FIN is flushed to the backend's socket while the backend's FIN is held: with TCP_INFO the check is
     * conclusive now (see {@link #clientDone}), so it runs now rather than at its timer.
     */
    void clientFinFlushed() {
        if (finHold != FinHold.HELD || !hasTcpInfo(backendChannel)) {
            return;
        }
        if (finTimer != null) {
            finTimer.cancel(false);
        }
        checkHeldFin();
    }

    private void checkHeldFin() {
        finTimer = null;
        if (state != State.RELAYING || finHold != FinHold.HELD) {
            return;
        }
        long held = clientChannel.eventLoop().ticker().nanoTime() - finHeldSince;
        Boolean verdict = mayReleaseFin(held >= FIN_HOLD_MAX_NANOS);
        if (verdict == Boolean.FALSE) {
            abort(backend, new ChannelException("backend reset after its FIN"));
            return;
        }
        if (verdict == null && held < FIN_HOLD_MAX_NANOS) {
            scheduleFinCheck();
            return;
        }
        finHold = FinHold.RELEASED;
        backend.releaseFin();
        backend.completeDeferredShutdown();
    }

    private void armIdleTimer(long delayNanos) {
        idleTimer = clientChannel.eventLoop().schedule(this, delayNanos, TimeUnit.NANOSECONDS);
    }

    /** The idle timer: closes the relay, or re-arms for the time left since the last activity. */
    @Override
    public void run() {
        if (state == State.CLOSED) {
            return;
        }
        long timeout = owner.settings().idleTimeout().toNanos();
        long left = timeout - (clientChannel.eventLoop().ticker().nanoTime() - lastActivity);
        if (left > 0) {
            armIdleTimer(left);
            return;
        }
        log.debug("Listener '{}': relay of {} idle for {}; closing", owner.listener(), clientChannel,
                owner.settings().idleTimeout());
        close();
    }

    /** An error on one side (typically a reset): reset the other side too, so it learns as much. */
    void abort(RelaySide side, Throwable cause) {
        if (state == State.CLOSED || !isCurrent(side)) {
            return;
        }
        log.debug("Listener '{}': relay of {} aborted: {}", owner.listener(), clientChannel, cause.toString());
        resetOnClose(clientChannel);
        resetOnClose(backendChannel);
        close();
    }

    /** Resets both sides on the relay's event loop, unless it has closed by then. Any thread. */
    void resetLater() {
        try {
            clientChannel.eventLoop().execute(this::reset);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The loop is shutting down and closes the channel itself.
        }
    }

    /** Resets both sides now: the relay is cut short, and neither end may take it for a complete stream. */
    void reset() {
        if (state == State.CLOSED) {
            return;
        }
        resetOnClose(clientChannel);
        resetOnClose(backendChannel);
        close();
    }

    /** Closes both sides now, pending writes dropped and released; releases the held bytes. Idempotent. */
    void close() {
        if (!moveTo(State.CLOSED)) {
            return;
        }
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
        if (finTimer != null) {
            finTimer.cancel(false);
            finTimer = null;
        }
        if (early != null) {
            early.release();
            early = null;
        }
        if (header != null) {
            header.release();
            header = null;
        }
        if (backendIndex >= 0) {
            pool.closed(backendIndex);
            backendIndex = -1;
        }
        owner.observer().connectionClosed(owner.listener());
        owner.closed(this);
        clientChannel.close();
        if (backendChannel != null) {
            // While connecting this also fails the connect, which then finds the relay closed.
            closeAttempt(backendChannel);
        }
    }

    /**
     * Closes a backend channel. When its socket could not be made, Netty hands back a closed stand-in that was
     * never registered: nothing to close, and closing it throws.
     */
    private static void closeAttempt(Channel ch) {
        if (ch.isOpen()) {
            ch.close();
        }
    }

    private static void resetOnClose(Channel ch) {
        if (ch != null && ch.isActive()) {
            try {
                ch.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (ChannelException e) {
                // The socket is already gone; a plain close is all that is left.
            }
        }
    }
}
