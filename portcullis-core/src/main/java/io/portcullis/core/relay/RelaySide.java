package io.portcullis.core.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket of a {@link Relay} (the client's or the backend's), as the last handler of its pipeline:
 * what it reads goes to the other side, its {@link #peer}.
 *
 * <p>Reading is explicit (auto-read is off): one {@code read()} after each read batch while the peer
 * is writable; when the peer is not, this side pauses, and the peer's writability event resumes it.
 * So at most the water mark plus one read buffer waits in the peer's outbound buffer. A FIN read here
 * is passed on as a FIN to the peer once what went before it is flushed. Event loop only.
 */
final class RelaySide extends ChannelInboundHandlerAdapter implements ChannelFutureListener {

    private static final Logger log = LoggerFactory.getLogger(RelaySide.class);

    private final Relay relay;
    private final String direction;
    private ChannelHandlerContext ctx;
    RelaySide peer;
    /** A FIN was read from this socket. */
    private boolean inputShut;
    /** That FIN was passed on to the peer. */
    private boolean finForwarded;
    /** The peer's FIN was passed on here: this socket's output is shut. */
    private boolean outputShut;
    /** The peer's FIN is flushed here but shutting this output waits for a held backend FIN (see Relay). */
    private boolean shutdownDeferred;
    /** Not reading until the peer drains below its low water mark. */
    private boolean paused;
    /** Bytes read and not yet reported, so meters are bumped once per read batch. */
    private long unreported;

    /** @param direction of the bytes read on this side, for {@link RelayObserver#bytes} */
    RelaySide(Relay relay, String direction) {
        this.relay = relay;
        this.direction = direction;
    }

    Channel channel() {
        return ctx.channel();
    }

    /** The relay this side belongs to. For tests. */
    Relay relay() {
        return relay;
    }

    /** The other socket's channel, or null while none is connected. For tests. */
    Channel peerChannel() {
        return relay.state() == Relay.State.RELAYING ? peer.channel() : null;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || !relay.isCurrent(this)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        switch (relay.state()) {
            case RELAYING -> forward(buf);
            case CONNECTING -> relay.holdEarly(buf);
            case CLOSED -> buf.release();
        }
    }

    /** Hands {@code buf} to the peer, unflushed; a failed write surfaces as the peer's exceptionCaught. */
    void forward(ByteBuf buf) {
        unreported += buf.readableBytes();
        peer.ctx.write(buf, peer.ctx.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!relay.isCurrent(this)) {
            return;
        }
        relay.touch();
        switch (relay.state()) {
            case RELAYING -> afterRead();
            case CONNECTING -> readWhileConnecting();
            case CLOSED -> { }
        }
    }

    /** Client side only: keeps reading while connecting, up to the relay's bound, to notice a client leaving. */
    void readWhileConnecting() {
        if (this == relay.clientSide() && !inputShut && !endOfInputRead() && relay.mayHoldMore()) {
            ctx.read();
        }
    }

    /** End of a read batch: flush to the peer, report, then read on, pause, or pass a FIN on. */
    void afterRead() {
        peer.ctx.flush();
        if (unreported > 0) {
            if (this == relay.clientSide()) {
                relay.upstreamWritten();
            }
            relay.owner().observer().bytes(relay.owner().listener(), direction, unreported);
            unreported = 0;
        }
        if (inputShut) {
            forwardFin();
        } else {
            readMore();
        }
    }

    /** Requests the next read if the peer can take it; otherwise waits for its writability event. */
    void readMore() {
        if (inputShut || relay.state() != Relay.State.RELAYING || endOfInputRead()) {
            return;
        }
        if (peer.channel().isWritable()) {
            paused = false;
            ctx.read();
        } else {
            paused = true;
        }
    }

    /**
     * The last read met the end of the input: the input-shutdown event follows this read batch. Reading again would
     * want EPOLLIN once more on epoll, where an input at its end is always readable: a wake-up and an epoll_ctl to
     * take it back.
     */
    private boolean endOfInputRead() {
        return ctx.channel().unsafe().recvBufAllocHandle().lastBytesRead() < 0;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && relay.isCurrent(this)) {
            relay.touch();
            if (peer.paused) {
                peer.readMore();
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            inputShut = true;
            if (relay.isCurrent(this)) {
                switch (relay.state()) {
                    case RELAYING -> forwardFin();
                    case CONNECTING -> relay.clientFinWhileConnecting(); // else passed on after the early data
                    case CLOSED -> { }
                }
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void forwardFin() {
        if (!finForwarded && (this == relay.clientSide() || !relay.holdBackendFin())) {
            finForwarded = true;
            // The empty write completes after every write queued before it: only then may the FIN go.
            peer.ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(peer);
        }
    }

    /** Whether a FIN was read from this socket. */
    boolean inputShutSeen() {
        return inputShut;
    }

    /** The relay let a held backend FIN go: pass it on now. */
    void releaseFin() {
        if (inputShut) {
            forwardFin();
        }
    }

    /** The relay let a held backend FIN go: shut this (the backend's) output if the client's FIN waits for it. */
    void completeDeferredShutdown() {
        if (shutdownDeferred) {
            shutdownDeferred = false;
            shutOutput();
        }
    }

    /** Everything before the peer's FIN is flushed here: shut this socket's output. */
    @Override
    public void operationComplete(ChannelFuture flushed) {
        if (!flushed.isSuccess() || !relay.isCurrent(this)) {
            return; // the failed write closes the channel; channelInactive ends the relay
        }
        if (this != relay.clientSide() && relay.backendFinHeld()) {
            // Our FIN to the backend would hide whether it still acknowledges what it got: shut after the check.
            shutdownDeferred = true;
            relay.clientFinFlushed();
            return;
        }
        shutOutput();
    }

    private void shutOutput() {
        outputShut = true;
        if (peer.outputShut || peer.shutdownDeferred && !relay.backendFinHeld()) {
            // This socket's own FIN was passed on already (the peer's output is shut, or flushed and shut right after
            // this, as a held backend FIN is let go): both directions are done, every byte is flushed and every FIN
            // read. close() sends each FIN, so no shutdown() first: a system call less per connection.
            relay.close();
        } else if (ctx.channel() instanceof EpollSocketChannel epoll) {
            shutdownOutput(epoll);
            // Our FIN is out: at this socket's end of stream both directions are done, and Netty may close it at once
            // (see channelInactive) rather than shutdown(SHUT_RD), which fails then (ENOTCONN, an exception with its
            // stack trace) before the close.
            epoll.config().setAllowHalfClosure(false);
        } else {
            ((DuplexChannel) ctx.channel()).shutdownOutput();
        }
    }

    /**
     * On epoll the FIN goes by shutdown(2) on the socket itself: Netty's {@code shutdownOutput()} builds a
     * {@code ChannelOutputShutdownException}, stack trace and all, for writes still queued, and here none is (every
     * byte is flushed before the FIN): about 3 µs per connection, the largest single piece of its user time. The
     * channel reads the socket's own state, so {@code isOutputShutdown()} says true after. A failure is left to the
     * reads to find, as Netty's unobserved future would.
     */
    private static void shutdownOutput(EpollSocketChannel ch) {
        try {
            ((Socket) ch.fd()).shutdown(false, true);
        } catch (IOException | RuntimeException e) {
            log.debug("shutdown(SHUT_WR) of {} failed: {}", ch, e.toString());
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!relay.isCurrent(this)) {
            return;
        }
        if (relay.state() == Relay.State.RELAYING && outputShut && !inputShut && endOfInputRead()) {
            // Netty closed the socket at its end of stream after our FIN (half-closure off, see shutOutput): the
            // peer's FIN, passed on as any other.
            inputShut = true;
            forwardFin();
            return;
        }
        if (relay.state() == Relay.State.RELAYING) {
            // Closed under the relay, which closes its sockets itself only after leaving RELAYING: Netty closes a
            // socket whose write failed. The peer reset it, and the write took the reset's error, so no read will
            // report it. The stream was cut: the other end gets a reset, never a FIN that passes for a clean end.
            relay.abort(this, new IOException((this == relay.clientSide() ? "client" : "backend")
                    + " connection lost while relaying" + (relay.backendFinHeld() ? " (backend FIN held)" : "")));
        } else {
            relay.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        relay.abort(this, cause);
    }
}
