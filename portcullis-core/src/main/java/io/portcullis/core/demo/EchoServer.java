package io.portcullis.core.demo;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.portcullis.core.EventLoops;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP echo server: the backend of the embedded demo and of the relay tests.
 *
 * <p>It echoes every byte until the client's FIN, then flushes and sends its own FIN and closes. It
 * reads only while it can write (auto-read off, one read at a time while the channel is writable), so a
 * client that does not read its echo stops being read instead of growing the server's memory.
 *
 * <p>Threading: {@link #start()} and {@link #close()} block and are for any thread but an event loop;
 * the other methods are for any thread. Connections run on the given loops' workers.
 */
public final class EchoServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EchoServer.class);
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);
    /** After the last echo is flushed: FIN, then close. */
    private static final ChannelFutureListener SHUTDOWN_OUTPUT = f -> {
        if (f.isSuccess()) {
            ((DuplexChannel) f.channel()).shutdownOutput().addListener(ChannelFutureListener.CLOSE);
        } else {
            f.channel().close();
        }
    };

    private final EventLoops loops;
    private final InetSocketAddress bind;
    private final ChannelGroup connections = new DefaultChannelGroup("echo", GlobalEventExecutor.INSTANCE);
    private final AtomicLong accepted = new AtomicLong();
    private final EchoHandler handler = new EchoHandler();
    private volatile Channel serverChannel;

    /**
     * An echo server, not yet listening.
     *
     * @param loops the loops it runs on
     * @param bind  address to listen on; port 0 for an ephemeral port
     */
    public EchoServer(EventLoops loops, InetSocketAddress bind) {
        this.loops = Objects.requireNonNull(loops, "loops");
        this.bind = Objects.requireNonNull(bind, "bind");
    }

    /**
     * Binds, waiting at most 10 s.
     *
     * @return this server, listening
     * @throws IllegalStateException when the address cannot be bound
     */
    public EchoServer start() {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loops.workers())
                .channel(loops.serverChannelType())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(handler);
        ChannelFuture f = bootstrap.bind(bind);
        if (!f.awaitUninterruptibly(10_000) || !f.isSuccess()) {
            f.channel().close();
            throw new IllegalStateException("echo server: cannot bind " + bind
                    + (f.cause() == null ? ": timed out" : ": " + f.cause().getMessage()), f.cause());
        }
        serverChannel = f.channel();
        log.info("Echo server on {}", serverChannel.localAddress());
        return this;
    }

    /**
     * The bound address.
     *
     * @return the address, with the real port when 0 was asked for
     */
    public InetSocketAddress localAddress() {
        Channel ch = serverChannel;
        if (ch == null) {
            throw new IllegalStateException("echo server is not started");
        }
        return (InetSocketAddress) ch.localAddress();
    }

    /**
     * Connections accepted since start.
     *
     * @return the count
     */
    public long acceptedCount() {
        return accepted.get();
    }

    /**
     * Connections open now.
     *
     * @return the count
     */
    public int openCount() {
        return connections.size();
    }

    /** Stops listening and closes every open connection, waiting at most 5 s. Repeated calls are harmless. */
    @Override
    public void close() {
        Channel ch = serverChannel;
        if (ch != null) {
            ch.close().awaitUninterruptibly(5_000);
        }
        connections.close().awaitUninterruptibly(5_000);
    }

    /** Stateless, so one instance serves every connection; all state is the channel's own. */
    @ChannelHandler.Sharable
    private final class EchoHandler extends ChannelInboundHandlerAdapter {

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            accepted.incrementAndGet();
            connections.add(ctx.channel());
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
            readIfWritable(ctx);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            readIfWritable(ctx);
            ctx.fireChannelWritabilityChanged();
        }

        private void readIfWritable(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            if (ch.isWritable() && !((DuplexChannel) ch).isInputShutdown()) {
                ctx.read();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                // Echo what is queued, then FIN: the client's half-close is answered in kind.
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(SHUTDOWN_OUTPUT);
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("Echo connection {} failed: {}", ctx.channel(), cause.toString());
            ctx.close();
        }
    }
}
