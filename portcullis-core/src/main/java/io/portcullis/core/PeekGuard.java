package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.ipfilter.IpSubnetFilterRule;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * First in a peeking connection's pipeline until the peek is over: bounds what is read, decides whether
 * a PROXY-protocol header comes first and whether its sender may send one, and turns every close
 * meanwhile into a reset (Netty's decoders close on bad input; a peek failure says nothing to the client).
 *
 * <p>Netty's {@link HAProxyMessageDecoder} parses the header but needs 12 bytes to tell a header from
 * other data, and has no notion of trust; this gate answers both from the first bytes (a client that sends
 * "q" and a FIN is not a header), then hands the header to the decoder behind it. Event loop only.
 */
final class PeekGuard extends ChannelDuplexHandler {

    private static final byte[] V1_SIGNATURE = {'P', 'R', 'O', 'X', 'Y', ' '};
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private enum Gate { UNDECIDED, OPEN, CLOSED }

    private final PeekSettings settings;
    private final List<IpSubnetFilterRule> trusted;
    private Gate gate;
    /** The first bytes while undecided: at most a signature's length. */
    private ByteBuf head;
    private int seen;
    private boolean peeking = true;
    private boolean graceful;

    PeekGuard(PeekSettings settings, List<IpSubnetFilterRule> trusted) {
        this.settings = settings;
        this.trusted = trusted;
        this.gate = settings.proxyProtocol() == PeekSettings.ProxyProtocol.OFF ? Gate.OPEN : Gate.UNDECIDED;
    }

    /** Bytes read so far. */
    int seen() {
        return seen;
    }

    /** The peek is over: reads are no longer capped here and a close is a close again. */
    void finish(ChannelHandlerContext ctx) {
        peeking = false;
        if (ctx.channel().config().getRecvByteBufAllocator() instanceof CappedReads capped) {
            capped.uncap();
        }
    }

    /** The next close while peeking sends a FIN, not a reset: nothing went wrong (a balancer's health check). */
    void closeGracefully() {
        graceful = true;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || gate == Gate.CLOSED) {
            ReferenceCountUtil.release(msg);
            return;
        }
        seen += buf.readableBytes();
        if (peeking && seen > settings.maxBytes()) {
            buf.release();
            reject(ctx, PeekReject.TOO_LARGE, "more than " + settings.maxBytes() + " bytes before the peek was over");
            return;
        }
        if (gate == Gate.OPEN) {
            ctx.fireChannelRead(buf);
            return;
        }
        if (head == null) {
            head = ctx.alloc().buffer(V2_SIGNATURE.length);
        }
        int take = Math.min(buf.readableBytes(), V2_SIGNATURE.length - head.readableBytes());
        head.writeBytes(buf, take);
        decide(ctx, false);
        if (gate == Gate.OPEN && buf.isReadable()) {
            ctx.fireChannelRead(buf);
        } else {
            buf.release();
        }
    }

    /** Decides from {@link #head} once it can, or at once when the client has sent all it will. */
    private void decide(ChannelHandlerContext ctx, boolean inputShut) {
        int n = head.readableBytes();
        boolean v1 = matches(V1_SIGNATURE, n);
        boolean v2 = matches(V2_SIGNATURE, n);
        boolean header = (v1 && n >= V1_SIGNATURE.length) || (v2 && n == V2_SIGNATURE.length);
        if (!header && (v1 || v2) && !inputShut) {
            return; // could still be a signature: read on
        }
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        if (header) {
            if (!PeekSettings.trusts(trusted, peer)) {
                reject(ctx, PeekReject.UNTRUSTED_HEADER, "PROXY-protocol header from an untrusted peer");
                return;
            }
            gate = Gate.OPEN;
            ctx.pipeline().addAfter(ctx.name(), PipelineNames.PROXY_DECODER, new HAProxyMessageDecoder());
        } else {
            if (settings.proxyProtocol() == PeekSettings.ProxyProtocol.REQUIRED) {
                reject(ctx, PeekReject.MISSING_HEADER, "no PROXY-protocol header, and one is required");
                return;
            }
            gate = Gate.OPEN;
            ctx.fireUserEventTriggered(PeekEvent.NO_PROXY_HEADER);
        }
        ByteBuf first = head;
        head = null;
        ctx.fireChannelRead(first);
    }

    private boolean matches(byte[] signature, int n) {
        int at = head.readerIndex();
        for (int i = 0; i < Math.min(n, signature.length); i++) {
            if (head.getByte(at + i) != signature[i]) {
                return false;
            }
        }
        return true;
    }

    private void reject(ChannelHandlerContext ctx, PeekReject reason, String detail) {
        gate = Gate.CLOSED;
        releaseHead();
        ctx.fireUserEventTriggered(new PeekEvent.Rejected(reason, detail));
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent && gate == Gate.UNDECIDED && head != null && head.isReadable()) {
            decide(ctx, true);
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        if (!peeking) {
            ctx.read();
            return;
        }
        int room = settings.maxBytes() + 1 - seen; // one more than allowed, so that a client past the bound is seen
        if (room <= 0 || gate == Gate.CLOSED) {
            return;
        }
        if (ctx.channel().config().getRecvByteBufAllocator() instanceof CappedReads capped) {
            capped.cap(room);
        }
        ctx.read();
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (peeking && ctx.channel().isActive()) {
            if (!graceful) {
                ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
            }
            // Netty's decoders close, then throw: the exception tells the inspection why, so it must find the
            // channel still open. The close follows in the next task.
            ctx.executor().execute(() -> ctx.close(promise));
            return;
        }
        ctx.close(promise);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseHead();
    }

    private void releaseHead() {
        if (head != null) {
            head.release();
            head = null;
        }
    }
}
