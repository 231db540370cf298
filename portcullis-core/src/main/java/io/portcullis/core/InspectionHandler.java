package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's inspection, from arrival to acceptance, rejection or abort: its state machine.
 *
 * <pre>
 * ARRIVED ─┬─▶ PEEKING ─┬─▶ INSPECTING ─┬─ ACCEPT ────────────────────────▶ ACCEPTED ─▶ HANDED_OVER
 *          │            │                ├─ REJECT ────────────────────────▶ REJECTED
 *          │            │                └─ PEND ─▶ PENDING ─▶ DECIDED ─┬─ accept ─▶ ACCEPTED
 *          │            │            (no slot: on-overflow)             ├─ reject ─▶ REJECTED
 *          │            │                                               ├─ client left ▶ ABORTED
 *          │            │                                               └─ left after a completion won ▶ CLOSED
 *          │            ├─ bad header, not TLS, too large, too slow ───▶ REJECTED
 *          │            ├─ client left, balancer's LOCAL check closed ─▶ CLOSED
 *          │            └─ conditional accept off ─────────────────────▶ ACCEPTED
 *          ├─▶ INSPECTING (nothing to peek)
 *          └─ conditional accept off, nothing to peek ─────────────────▶ ACCEPTED
 * </pre>
 *
 * <p>Peeking ({@link PeekSettings}): the handlers in front of this one read a PROXY-protocol header
 * ({@link PeekGuard}, Netty's decoder) and the TLS ClientHello ({@link TlsPeek}) and tell this one by events;
 * the bytes after the header, the ClientHello included, reach this handler as early bytes, to be replayed.
 * The whole peek has one deadline and one byte bound; any failure is a counted reset.
 *
 * <p>The state is one field and changes only through {@link #move}. Everything runs on the connection's
 * event loop except the way out of PENDING: a completion ({@link Listener#inspectComplete}) may come from
 * any thread, so PENDING is left by one compare-and-set to DECIDED, which exactly one of completion,
 * deadline, client abort and listener close wins. A completion from another thread then hands its action
 * to the loop; the others apply theirs at once.
 *
 * <p>Early bytes: while pended the client is read up to {@code hold-bytes} (that is how a client that
 * leaves is noticed on every transport); they are kept in one bounded {@link EarlyBytes} and handed to
 * the new owner after acceptance ({@link AcceptedConnection#takeEarlyData()}), until when this handler
 * stays in the pipeline so a read requested while pended cannot drop bytes. A FIN after at least one
 * byte is the end of the client's input, not a departure: the inspection goes on, and the FIN follows
 * the bytes to the new owner. A FIN before any byte, or a reset, is the client leaving.
 */
final class InspectionHandler extends ChannelInboundHandlerAdapter implements Runnable, ChannelFutureListener {

    private static final Logger log = LoggerFactory.getLogger(InspectionHandler.class);

    enum State {
        ARRIVED, PEEKING, INSPECTING, PENDING, DECIDED, ACCEPTED, HANDED_OVER, REJECTED, ABORTED, CLOSED;

        /** The transitions of the diagram above; nothing else is possible. */
        boolean mayMoveTo(State next) {
            return switch (this) {
                case ARRIVED -> next == PEEKING || next == INSPECTING || next == ACCEPTED;
                case PEEKING -> next == INSPECTING || next == ACCEPTED || next == REJECTED || next == CLOSED;
                case INSPECTING -> next == PENDING || next == ACCEPTED || next == REJECTED;
                case PENDING -> next == DECIDED;
                case DECIDED -> next == ACCEPTED || next == REJECTED || next == ABORTED || next == CLOSED;
                case ACCEPTED -> next == HANDED_OVER || next == CLOSED;
                case HANDED_OVER, REJECTED, ABORTED, CLOSED -> false;
            };
        }
    }

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(InspectionHandler.class, "state", State.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Listener listener;
    private ChannelHandlerContext ctx;
    private InspectRequest request;
    @SuppressWarnings("FieldMayBeFinal") // written through STATE
    private volatile State state = State.ARRIVED;
    private EarlyBytes early;
    private boolean readRequested;
    /** A FIN came after early bytes: it follows them to the new owner. Read by other threads for listings. */
    private volatile boolean inputShut;
    /** Early bytes held, for listings by other threads. */
    private volatile int heldBytes;
    /** Held from the verdict until the connection closes. */
    private Permit permit = Permit.NONE;
    private String rule = "error";
    /** The named pool an acceptance goes to: the verdict's, then a completion's; visible as {@link #rule} is. */
    private Optional<String> route = Optional.empty();
    private long inspectNanos;
    /** When the pend began, 0 when not pended; read by other threads for {@link Listener#pending()}. */
    private volatile long pendingSince;
    /** The pend's deadline from its start; written before {@link #pendingSince}, so visible once that is non-zero. */
    private Duration pendTimeout = Duration.ZERO;
    private ScheduledFuture<?> deadline;
    /** While peeking: which parts are still to come, and the peek's deadline. */
    private boolean awaitProxy;
    private boolean awaitTls;
    private boolean peekOver;
    private ScheduledFuture<?> peekDeadline;

    InspectionHandler(Listener listener) {
        this.listener = listener;
    }

    InspectRequest request() {
        return request;
    }

    /** The rule of the verdict; visible to other threads once {@link #pendingSince()} is non-zero. */
    String rule() {
        return rule;
    }

    /** The route of the verdict; visible to other threads once {@link #pendingSince()} is non-zero. */
    Optional<String> route() {
        return route;
    }

    /** The pend's deadline from its start; visible as {@link #rule} is. */
    Duration pendTimeout() {
        return pendTimeout;
    }

    /** Nanotime the pend began, 0 while not pended. Any thread. */
    long pendingSince() {
        return pendingSince;
    }

    State state() {
        return state;
    }

    /** Client bytes held now. Any thread. */
    int heldBytes() {
        return heldBytes;
    }

    /** Whether the client has half-closed after its early bytes. Any thread. */
    boolean inputShut() {
        return inputShut;
    }

    /**
     * The one transition method: moves from {@code from} to {@code next} if the state is still {@code from}.
     * Atomic, so that leaving PENDING is won by exactly one caller.
     *
     * @throws IllegalStateException for a move the diagram does not have (a bug, never the client's doing)
     */
    private boolean move(State from, State next) {
        if (!from.mayMoveTo(next)) {
            throw new IllegalStateException("inspection " + (request == null ? "?" : request.id())
                    + ": no transition " + from + " -> " + next);
        }
        return STATE.compareAndSet(this, from, next);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.early = new EarlyBytes(ctx.channel(), listener.settings().holdBytes());
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ListenerSettings settings = listener.settings();
        listener.observer().connectionArrived(settings.name());
        request = InspectRequest.of(InspectId.next(), settings.name(),
                (InetSocketAddress) ctx.channel().remoteAddress(),
                (InetSocketAddress) ctx.channel().localAddress(), Instant.now());
        PeekSettings peek = settings.peek();
        if (peek.peeks()) {
            move(State.ARRIVED, State.PEEKING);
            awaitProxy = peek.proxyProtocol() != PeekSettings.ProxyProtocol.OFF;
            awaitTls = peek.tls();
            peekDeadline = ctx.executor().schedule(
                    () -> peekRejected(PeekReject.TIMEOUT, "not over within " + peek.timeout()),
                    peek.timeout().toNanos(), TimeUnit.NANOSECONDS);
            ctx.read();
            return;
        }
        if (!settings.conditionalAccept()) {
            accept(State.ARRIVED);
            return;
        }
        inspect(State.ARRIVED);
    }

    /** The peek is over and found nothing wrong: inspect, or accept where conditional accept is off. */
    private void peeked() {
        if (state != State.PEEKING) {
            return;
        }
        cancelPeekDeadline();
        PeekGuard guard = (PeekGuard) ctx.pipeline().get(PipelineNames.PEEK_GUARD);
        if (guard != null) {
            guard.finish(ctx.pipeline().context(guard));
            ctx.pipeline().remove(guard);
        }
        if (!listener.settings().conditionalAccept()) {
            accept(State.PEEKING);
            return;
        }
        inspect(State.PEEKING);
    }

    private void inspect(State from) {
        ListenerSettings settings = listener.settings();
        move(from, State.INSPECTING);
        // Findable while inspected too, so that a completion that comes too early is told apart from an unknown id.
        listener.registerPending(request.id(), this);
        ctx.channel().closeFuture().addListener(this);
        long start = System.nanoTime();
        Verdict verdict;
        try {
            verdict = listener.inspectHandler().verdict(request);
        } catch (RuntimeException e) {
            log.warn("Inspect handler of listener '{}' failed for {}; rejecting", settings.name(), request.id(), e);
            verdict = null;
        }
        InspectAction action = verdict == null ? InspectAction.REJECT : verdict.action();
        if (verdict != null) {
            permit = verdict.permit();
            rule = verdict.rule();
            route = verdict.route();
        }
        inspectNanos = System.nanoTime() - start;
        listener.observer().inspected(settings.name(), action, inspectNanos);
        if (action == InspectAction.PEND) {
            pend(verdict);
        } else {
            listener.unregisterPending(request.id(), this);
            ended(Optional.of(action), action.label(), verdict == null ? "error" : "rule", Optional.empty(), 0);
            apply(State.INSPECTING, action);
        }
    }

    private void pend(Verdict verdict) {
        ListenerSettings settings = listener.settings();
        if (!listener.reservePendingSlot()) {
            listener.unregisterPending(request.id(), this);
            InspectAction action = settings.onOverflow();
            listener.observer().pendEnded(settings.name(), PendOutcome.OVERFLOW, 0);
            ended(Optional.of(action), PendOutcome.OVERFLOW.label(), "overflow", Optional.empty(), 0);
            try {
                listener.inspectHandler().pendRefused(request, action);
            } catch (RuntimeException e) {
                log.warn("Inspect handler of listener '{}' failed on the refused pend of {}", settings.name(), request.id(), e);
            }
            apply(State.INSPECTING, action);
            return;
        }
        move(State.INSPECTING, State.PENDING);
        Duration timeout = verdict.timeout().orElse(settings.inspectTimeout());
        pendTimeout = timeout;
        pendingSince = System.nanoTime();
        deadline = ctx.executor().schedule(this, timeout.toNanos(), TimeUnit.NANOSECONDS);
        requestRead();
        try {
            // Only now may a decision start: a completion from here on finds the inspection pended.
            listener.inspectHandler().pended(request, verdict);
        } catch (RuntimeException e) {
            log.warn("Inspect handler of listener '{}' failed on the pend of {}; its deadline decides", settings.name(),
                    request.id(), e);
        }
    }

    /** A part of the peek is over; once all are, inspection starts in a task of its own. */
    private void peekPartDone() {
        if (awaitProxy || awaitTls || peekOver) {
            return;
        }
        peekOver = true;
        // Not inline: the handler that told us may still hand on bytes it holds (Netty's decoders do, on
        // leaving the pipeline), and those must be held here before anyone may accept.
        ctx.executor().execute(this::peeked);
    }

    /** Resets a connection whose peek failed, once, and counts it by reason. */
    private void peekRejected(PeekReject reason, String detail) {
        if (state != State.PEEKING) {
            return;
        }
        cancelPeekDeadline();
        peekDeadline = null;
        log.debug("Connection {} of listener '{}' reset while peeking: {} ({})", request.id(),
                listener.settings().name(), reason.label(), detail);
        listener.observer().peekRejected(listener.settings().name(), reason);
        rule = "peek";
        ended(Optional.of(InspectAction.REJECT), InspectAction.REJECT.label(), "peek", Optional.of(reason.label()), 0);
        reject(State.PEEKING);
    }

    /** The client left while peeking, or the balancer's LOCAL check is closed: no inspection, no count. */
    private void closedWhilePeeking(boolean reset) {
        if (state != State.PEEKING) {
            return;
        }
        cancelPeekDeadline();
        move(State.PEEKING, State.CLOSED);
        early.release();
        if (!reset) {
            PeekGuard guard = (PeekGuard) ctx.pipeline().get(PipelineNames.PEEK_GUARD);
            if (guard != null) {
                guard.closeGracefully();
            }
        }
        ctx.close();
    }

    private void proxyHeader(HAProxyMessage msg) {
        if (state != State.PEEKING || !awaitProxy) {
            return;
        }
        awaitProxy = false;
        ProxyHeader header;
        try {
            header = ProxyHeaders.header(msg);
            if (header.local()) {
                if (listener.settings().peek().onLocal() == PeekSettings.OnLocal.CLOSE) {
                    closedWhilePeeking(false);
                    return;
                }
                request = new InspectRequest(request.id(), request.listener(), request.source(), request.destination(),
                        request.peer(), request.receivedAt(), Optional.of(header), request.tls());
            } else {
                request = request.withProxy(ProxyHeaders.source(msg), ProxyHeaders.destination(msg), header);
            }
        } catch (ProxyHeaders.Unusable e) {
            peekRejected(PeekReject.MALFORMED_HEADER, e.getMessage());
            return;
        }
        peekPartDone();
    }

    private void peekEvent(PeekEvent event) {
        if (state != State.PEEKING) {
            return;
        }
        if (event instanceof PeekEvent.Rejected rejected) {
            peekRejected(rejected.reason(), rejected.detail());
            return;
        }
        if (event instanceof PeekEvent.TlsPeeked peeked) {
            awaitTls = false;
            if (peeked.hello().isPresent()) {
                request = request.withTls(peeked.hello().get());
            } else if (listener.settings().peek().onNotTls() == PeekSettings.OnNotTls.REJECT) {
                peekRejected(PeekReject.NOT_TLS, "no TLS ClientHello first");
                return;
            }
        } else {
            awaitProxy = false;
        }
        peekPartDone();
    }

    /** The client sent its FIN before the peek was over: it left, or what it sent can never be completed. */
    private void inputShutWhilePeeking() {
        if (peekOver) {
            inputShut = true;
            return;
        }
        PeekGuard guard = (PeekGuard) ctx.pipeline().get(PipelineNames.PEEK_GUARD);
        if (guard == null || guard.seen() == 0) {
            closedWhilePeeking(true);
        } else if (awaitProxy) {
            peekRejected(PeekReject.MALFORMED_HEADER, "input ended inside the PROXY-protocol header");
        } else {
            peekRejected(PeekReject.MALFORMED_HELLO, "input ended inside the TLS ClientHello");
        }
    }

    private void cancelPeekDeadline() {
        if (peekDeadline != null) {
            peekDeadline.cancel(false);
            peekDeadline = null;
        }
    }

    /** The deadline of a pended inspection. */
    @Override
    public void run() {
        deadline = null;
        if (decide()) {
            InspectAction action = listener.settings().onTimeout();
            long held = endPend(PendOutcome.TIMEOUT);
            ended(Optional.of(action), PendOutcome.TIMEOUT.label(), "timeout", Optional.empty(), held);
            notifyAbort(AbortReason.TIMEOUT);
            apply(State.DECIDED, action);
        }
    }

    /** Leaves PENDING for DECIDED; true for the one caller (of any thread) that wins. */
    private boolean decide() {
        if (!move(State.PENDING, State.DECIDED)) {
            return false;
        }
        listener.unregisterPending(request.id(), this);
        return true;
    }

    /** Completes a pended inspection. Any thread; false when it is not (or no longer) pended. */
    boolean complete(InspectAction action, Completion completion) {
        if (state == State.INSPECTING) {
            listener.completionBeforePend(request.id());
            return false;
        }
        if (!decide()) {
            return false;
        }
        try {
            // Always queued, never inline: the caller may be on this very loop, inside a handler of this connection.
            ctx.executor().execute(() -> completed(action, completion));
        } catch (RejectedExecutionException e) {
            // The loop is shutting down and closes the channel with it; nothing is left to apply.
            log.debug("Completion of {} after its event loop stopped", request.id());
        }
        return true;
    }

    private void completed(InspectAction action, Completion completion) {
        PendOutcome outcome = completion.fallback() ? PendOutcome.FAILURE
                : action == InspectAction.ACCEPT ? PendOutcome.ACCEPT : PendOutcome.REJECT;
        if (completion.route().isPresent()) {
            route = completion.route();
        }
        long held = endPend(outcome);
        ended(Optional.of(action), outcome.label(), completion.decidedBy(), completion.reason(), held);
        if (!ctx.channel().isActive() || (inputShut && early.isEmpty())) {
            // The client left after the completion won: no abort event, nothing to apply.
            move(State.DECIDED, State.CLOSED);
            early.release();
            ctx.channel().close();
            return;
        }
        apply(State.DECIDED, action);
    }

    /** The one place a pended inspection stops holding: deadline, slot and the outcome meter. Returns the time held. */
    private long endPend(PendOutcome outcome) {
        cancelDeadline();
        long held = System.nanoTime() - pendingSince;
        pendingSince = 0;
        listener.releasePendingSlot();
        listener.observer().pendEnded(listener.settings().name(), outcome, held);
        return held;
    }

    private void ended(Optional<InspectAction> action, String outcome, String decidedBy, Optional<String> reason, long held) {
        listener.observer().inspectionEnded(new InspectionEnd(request, rule, action, outcome, decidedBy, reason,
                inspectNanos, held, action.isPresent() && action.get() == InspectAction.ACCEPT ? route : Optional.empty()));
    }

    /** Ends the inspection because the listener is closing, with its on-timeout action. Any thread. */
    void listenerClosed() {
        if (!decide()) {
            return;
        }
        try {
            ctx.executor().execute(() -> {
                InspectAction action = listener.settings().onTimeout();
                long held = endPend(PendOutcome.ABORT);
                ended(Optional.of(action), PendOutcome.ABORT.label(), "shutdown", Optional.empty(), held);
                notifyAbort(AbortReason.LISTENER_CLOSED);
                if (ctx.channel().isActive()) {
                    apply(State.DECIDED, action);
                } else {
                    move(State.DECIDED, State.CLOSED);
                    early.release();
                }
            });
        } catch (RejectedExecutionException e) {
            log.debug("Listener close of {} after its event loop stopped", request.id());
        }
    }

    private void apply(State from, InspectAction action) {
        if (action == InspectAction.ACCEPT) {
            accept(from);
        } else {
            reject(from);
        }
    }

    private void accept(State from) {
        move(from, State.ACCEPTED);
        AcceptedConnection connection = new AcceptedConnection(ctx.channel(), request, this, route);
        boolean taken;
        try {
            taken = listener.acceptHandler().accepted(connection);
        } catch (RuntimeException e) {
            log.warn("Accept handler of listener '{}' failed for {}; closing", listener.settings().name(), request.id(), e);
            taken = false;
        }
        if (!taken) {
            listener.observer().acceptRefused(listener.settings().name());
            connection.close();
        }
    }

    /** Reset without a word: SO_LINGER 0 makes close send RST. */
    private void reject(State from) {
        move(from, State.REJECTED);
        early.release();
        ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
        ctx.close();
    }

    /**
     * Hands the held bytes to the new owner and leaves the pipeline; a FIN the client sent after them is
     * fired again, after the current task, for the new owner's handlers. Event loop only.
     */
    ByteBuf handOver() {
        if (!move(State.ACCEPTED, State.HANDED_OVER)) {
            return Unpooled.EMPTY_BUFFER;
        }
        ByteBuf data = early.take();
        if (ctx.pipeline().context(this) != null) {
            ctx.pipeline().remove(this);
        }
        if (inputShut) {
            ctx.channel().eventLoop().execute(() -> ctx.channel().pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE));
        }
        return data;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HAProxyMessage header) {
            try {
                proxyHeader(header);
            } finally {
                header.release();
            }
            return;
        }
        State s = state;
        if (!(msg instanceof ByteBuf buf) || s == State.REJECTED || s == State.ABORTED || s == State.CLOSED) {
            ReferenceCountUtil.release(msg);
            return;
        }
        early.add(buf);
        heldBytes = early.readableBytes();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        readRequested = false;
        if (state == State.PENDING) {
            requestRead();
        } else if (state == State.PEEKING && !peekOver) {
            ctx.read();
        }
    }

    private void requestRead() {
        if (!readRequested && !inputShut && early.hasRoom()) {
            readRequested = true;
            ctx.read();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof PeekEvent event) {
            peekEvent(event);
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent && state == State.PEEKING) {
            inputShutWhilePeeking();
            return;
        }
        if (!(evt instanceof ChannelInputShutdownEvent)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        switch (state) {
            case PENDING, DECIDED, ACCEPTED -> {
                if (early.isEmpty() && state == State.PENDING) {
                    clientLeft();
                } else {
                    // The end of the client's input, not a departure: kept for the new owner.
                    inputShut = true;
                }
            }
            default -> ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        switch (state) {
            case PENDING -> clientLeft();
            case PEEKING -> closedWhilePeeking(true);
            case ACCEPTED -> {
                if (move(State.ACCEPTED, State.CLOSED)) {
                    ctx.fireChannelInactive();
                }
            }
            // DECIDED: a completion from another thread won; its queued task ends the inspection.
            default -> { }
        }
        early.release();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (state == State.PEEKING && cause instanceof DecoderException) {
            // Netty's decoders in front: a header or ClientHello they could not read (they close the channel).
            peekRejected(cause instanceof TooLongFrameException ? PeekReject.TOO_LARGE
                    : awaitProxy ? PeekReject.MALFORMED_HEADER : PeekReject.MALFORMED_HELLO, String.valueOf(cause.getMessage()));
            return;
        }
        // A reset by the client shows up here before channelInactive; closing leads there.
        log.debug("Connection {} of listener '{}' failed", request == null ? "?" : request.id(),
                listener.settings().name(), cause);
        ctx.close();
    }

    /** The client closed or reset while pended; a completion that already won decides instead. */
    private void clientLeft() {
        if (!decide()) {
            return;
        }
        long held = endPend(PendOutcome.ABORT);
        ended(Optional.empty(), PendOutcome.ABORT.label(), "client", Optional.empty(), held);
        notifyAbort(AbortReason.CLIENT_CLOSED);
        move(State.DECIDED, State.ABORTED);
        early.release();
        ctx.channel().close();
    }

    private void notifyAbort(AbortReason reason) {
        try {
            listener.abortHandler().aborted(request.id(), reason);
        } catch (RuntimeException e) {
            log.warn("Abort handler of listener '{}' failed for {}", listener.settings().name(), request.id(), e);
        }
    }

    /** The connection closed: the inspect handler may give back what it tied to it. */
    @Override
    public void operationComplete(ChannelFuture future) {
        permit.release();
        try {
            listener.inspectHandler().connectionClosed(request);
        } catch (RuntimeException e) {
            log.warn("Inspect handler of listener '{}' failed on close of {}", listener.settings().name(), request.id(), e);
        }
    }

    private void cancelDeadline() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        early.release();
    }
}
