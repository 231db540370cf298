package io.portcullis.gateway.listener;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Permit;
import io.portcullis.policy.model.Verdict;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's way from arrival to acceptance, rejection or abort: the inspection state machine.
 *
 * <p>Everything here runs on the connection's event loop, except {@link #completeFromAnyThread}. Who
 * ends a pended inspection is decided by removing it from the listener's pending map: the map's
 * atomic remove lets exactly one of completion, deadline and abort win.
 *
 * <p>After acceptance the handler stays in the pipeline as a holder of early bytes until the new
 * owner takes them ({@link AcceptedConnection#takeEarlyData()}), so a read requested while pended
 * cannot drop bytes on the floor in between.
 */
final class InspectionHandler extends ChannelInboundHandlerAdapter implements Runnable, ChannelFutureListener {

    private static final Logger log = LoggerFactory.getLogger(InspectionHandler.class);

    enum State { INSPECTING, PENDING, ACCEPTED, CLOSED }

    private final Listener listener;
    private ChannelHandlerContext ctx;
    private InspectRequest request;
    private State state = State.INSPECTING;
    private ByteBuf held;
    private boolean readRequested;
    private long pendStartNanos;
    private boolean slotHeld;
    /** Held from the verdict until the connection closes. */
    private Permit permit = Permit.NONE;
    private String rule = "error";
    private long inspectNanos;
    private boolean inputShutdown;
    /** When the pend began, 0 when not pended; read by other threads for {@link Listener#pending()}. */
    private volatile long pendingSince;
    private ScheduledFuture<?> deadline;

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

    /** Nanotime the pend began, 0 while not pended. Any thread. */
    long pendingSince() {
        return pendingSince;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ListenerSettings settings = listener.settings();
        listener.observer().connectionArrived(settings.name());
        request = InspectRequest.of(InspectId.next(), settings.name(),
                (InetSocketAddress) ctx.channel().remoteAddress(),
                (InetSocketAddress) ctx.channel().localAddress(), Instant.now());
        if (!settings.conditionalAccept()) {
            accept();
            return;
        }
        // Registered before the handler runs: a completion may arrive, from any thread, before inspect() returns PEND.
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
        }
        inspectNanos = System.nanoTime() - start;
        listener.observer().inspected(settings.name(), action, inspectNanos);
        if (action == InspectAction.PEND) {
            pend(verdict.timeout().orElse(settings.inspectTimeout()));
        } else {
            // A completion for an inspection that was never pended has no effect: the handler's answer stands.
            listener.unregisterPending(request.id(), this);
            ended(Optional.of(action), action.label(), verdict == null ? "error" : "rule", Optional.empty(), 0);
            apply(action);
        }
    }

    private void pend(Duration timeout) {
        ListenerSettings settings = listener.settings();
        state = State.PENDING;
        pendStartNanos = System.nanoTime();
        if (!listener.reservePendingSlot()) {
            if (listener.unregisterPending(request.id(), this)) {
                state = State.INSPECTING;
                listener.observer().pendEnded(settings.name(), PendOutcome.OVERFLOW, 0);
                ended(Optional.of(settings.onOverflow()), PendOutcome.OVERFLOW.label(), "overflow", Optional.empty(), 0);
                apply(settings.onOverflow());
            }
            // else a completion already claimed it: its queued task decides, nothing is held meanwhile.
            return;
        }
        slotHeld = true;
        pendingSince = pendStartNanos;
        deadline = ctx.executor().schedule(this, timeout.toNanos(), TimeUnit.NANOSECONDS);
        // Reading while pended is bounded by holdBytes; it is how a client that leaves is noticed on every transport.
        requestRead();
    }

    /** The deadline of a pended inspection. */
    @Override
    public void run() {
        if (!listener.unregisterPending(request.id(), this)) {
            return;
        }
        ListenerSettings settings = listener.settings();
        long held = endPend(PendOutcome.TIMEOUT);
        ended(Optional.of(settings.onTimeout()), PendOutcome.TIMEOUT.label(), "timeout", Optional.empty(), held);
        notifyAbort(AbortReason.TIMEOUT);
        apply(settings.onTimeout());
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

    /** Called by the listener after it removed this inspection from its pending map. Any thread. */
    void completeFromAnyThread(InspectAction action, Completion completion) {
        // Always queued, never inline: the caller may be inside inspect() on this very loop.
        ctx.executor().execute(() -> completed(action, completion));
    }

    private void completed(InspectAction action, Completion completion) {
        if (state != State.PENDING) {
            return;
        }
        PendOutcome outcome = action == InspectAction.ACCEPT ? PendOutcome.ACCEPT : PendOutcome.REJECT;
        long held = endPend(outcome);
        ended(Optional.of(action), outcome.label(), completion.decidedBy(), completion.reason(), held);
        if (!ctx.channel().isActive() || inputShutdown) {
            // The client left after the completion won: no abort event, just clean up.
            closeQuietly();
            return;
        }
        apply(action);
    }

    /** The one place a pended inspection stops holding: deadline, slot and the outcome meter. Returns the time held. */
    private long endPend(PendOutcome outcome) {
        cancelDeadline();
        pendingSince = 0;
        if (slotHeld) {
            slotHeld = false;
            listener.releasePendingSlot();
        }
        long held = System.nanoTime() - pendStartNanos;
        listener.observer().pendEnded(listener.settings().name(), outcome, held);
        return held;
    }

    private void ended(Optional<InspectAction> action, String outcome, String decidedBy, Optional<String> reason, long held) {
        listener.observer().inspectionEnded(new InspectionEnd(request, rule, action, outcome, decidedBy, reason,
                inspectNanos, held));
    }

    /** Runs {@code task} on this connection's event loop. Any thread. */
    void completeOnLoop(Runnable task) {
        ctx.executor().execute(task);
    }

    /** Ends the inspection because the listener is closing, with its on-timeout action. Event loop only. */
    void listenerClosed() {
        if (state == State.PENDING && listener.unregisterPending(request.id(), this)) {
            InspectAction action = listener.settings().onTimeout();
            long held = endPend(PendOutcome.ABORT);
            ended(Optional.of(action), PendOutcome.ABORT.label(), "shutdown", Optional.empty(), held);
            notifyAbort(AbortReason.LISTENER_CLOSED);
            apply(action);
        }
    }

    private void apply(InspectAction action) {
        if (action == InspectAction.ACCEPT) {
            accept();
        } else {
            reject();
        }
    }

    private void accept() {
        state = State.ACCEPTED;
        cancelDeadline();
        AcceptedConnection connection = new AcceptedConnection(ctx.channel(), request, this);
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
    private void reject() {
        state = State.CLOSED;
        cancelDeadline();
        releaseHeld();
        ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
        ctx.channel().close();
    }

    /** Hands the held bytes to the new owner and leaves the pipeline. Event loop only. */
    ByteBuf handOver() {
        ByteBuf data = held == null ? Unpooled.EMPTY_BUFFER : held;
        held = null;
        if (ctx.pipeline().context(this) != null) {
            ctx.pipeline().remove(this);
        }
        return data;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.CLOSED || !(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        hold(buf);
    }

    private void hold(ByteBuf buf) {
        if (held == null) {
            held = buf;
            return;
        }
        CompositeByteBuf composite;
        if (held instanceof CompositeByteBuf c) {
            composite = c;
        } else {
            composite = ctx.alloc().compositeBuffer(Integer.MAX_VALUE);
            composite.addComponent(true, held);
            held = composite;
        }
        composite.addComponent(true, buf);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        readRequested = false;
        if (state == State.PENDING) {
            requestRead();
        }
    }

    private void requestRead() {
        if (!readRequested && (held == null || held.readableBytes() < listener.settings().holdBytes())) {
            readRequested = true;
            ctx.read();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            if (state == State.PENDING) {
                inputShutdown = true;
                clientLeft();
            } else if (state == State.ACCEPTED) {
                ctx.fireUserEventTriggered(evt);
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (state == State.PENDING) {
            clientLeft();
            // If a completion won, the state stays PENDING so its queued task counts the outcome and cleans up.
            releaseHeld();
            return;
        } else if (state == State.ACCEPTED) {
            ctx.fireChannelInactive();
        }
        state = State.CLOSED;
        releaseHeld();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset by the client shows up here before channelInactive; closing leads there.
        log.debug("Connection {} of listener '{}' failed", request == null ? "?" : request.id(),
                listener.settings().name(), cause);
        ctx.close();
    }

    /** The client closed or reset while pended; a completion that already won decides instead. */
    private void clientLeft() {
        if (!listener.unregisterPending(request.id(), this)) {
            return;
        }
        long held = endPend(PendOutcome.ABORT);
        ended(Optional.empty(), PendOutcome.ABORT.label(), "client", Optional.empty(), held);
        notifyAbort(AbortReason.CLIENT_CLOSED);
        closeQuietly();
    }

    private void notifyAbort(AbortReason reason) {
        try {
            listener.abortHandler().aborted(request.id(), reason);
        } catch (RuntimeException e) {
            log.warn("Abort handler of listener '{}' failed for {}", listener.settings().name(), request.id(), e);
        }
    }

    private void closeQuietly() {
        state = State.CLOSED;
        releaseHeld();
        ctx.channel().close();
    }

    private void cancelDeadline() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    private void releaseHeld() {
        if (held != null) {
            held.release();
            held = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseHeld();
    }
}
