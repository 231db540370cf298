package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ThreadAwareExecutor;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link EpollRegistrations} against stock Netty: the same exchanges, with the {@code epoll_ctl} calls that reach
 * Netty's {@code EpollIoHandler} counted below each. Fewer calls, none of them a DEL before a close, and every
 * exchange still complete.
 */
class EpollRegistrationsTest {

    private static final int CONNECTIONS = 20;

    @BeforeAll
    static void epoll() {
        assumeTrue(Epoll.isAvailable(), () -> "native epoll unavailable: " + Epoll.unavailabilityCause());
    }

    @Test
    void fewerCallsAndNoDeleteBeforeClose() throws Exception {
        Counts stock = new Counts();
        Counts ours = new Counts();
        exchanges(stock.around(EpollIoHandler.newFactory()));
        exchanges(EpollRegistrations.wrap(ours.around(EpollIoHandler.newFactory())));

        assertThat(stock.deletes.get()).as("stock: a DEL per socket closed").isGreaterThanOrEqualTo(2 * CONNECTIONS);
        assertThat(ours.deletes.get()).as("no DEL before a close").isZero();
        // Per connection at least: the accepted socket's ADD and read are one call; so are the connected socket's
        // EPOLLOUT off and read on.
        assertThat(ours.calls.get()).as("epoll_ctl other than DEL (stock %d)", stock.calls.get())
                .isLessThanOrEqualTo(stock.calls.get() - 2 * CONNECTIONS);
    }

    @Test
    void aDeregisteredChannelLeavesEpollAndWorksOnAnotherLoop() throws Exception {
        Counts ours = new Counts();
        EventLoopGroup first = group(EpollRegistrations.wrap(ours.around(EpollIoHandler.newFactory())));
        EventLoopGroup second = group(EpollRegistrations.wrap(EpollIoHandler.newFactory()));
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        Channel server = new ServerBootstrap().group(first).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        ctx.read();
                        accepted.complete(ctx.channel());
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        got.add(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
                        ReferenceCountUtil.release(msg);
                    }

                    @Override
                    public void channelReadComplete(ChannelHandlerContext ctx) {
                        ctx.read();
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
        Channel client = new Bootstrap().group(second).channel(EpollSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(server.localAddress()).sync().channel();
        try {
            Channel child = accepted.get(5, TimeUnit.SECONDS);
            // Bytes read: the fd is in epoll.
            client.writeAndFlush(Unpooled.copiedBuffer("here", StandardCharsets.US_ASCII)).sync();
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo("here");
            int deletesBefore = ours.deletes.get();
            child.deregister().sync();
            assertThat(ours.deletes.get()).as("an open fd leaving its loop is removed from epoll")
                    .isEqualTo(deletesBefore + 1);
            second.next().register(child).sync();
            child.read();
            client.writeAndFlush(Unpooled.copiedBuffer("moved", StandardCharsets.US_ASCII)).sync();
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo("moved");
        } finally {
            client.close().sync();
            server.close().sync();
            first.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            second.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /**
     * {@link #CONNECTIONS} exchanges, one after the other (fd numbers are reused): the client sends "ping" and FIN;
     * the server, reading explicitly, answers "pong" and FIN once it has the FIN; each closes after both FINs.
     */
    private static void exchanges(IoHandlerFactory factory) throws Exception {
        EventLoopGroup group = group(factory);
        try {
            Channel server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new Side(null, "pong"));
                        }
                    })
                    .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
            for (int i = 0; i < CONNECTIONS; i++) {
                CountDownLatch done = new CountDownLatch(1);
                StringBuilder heard = new StringBuilder();
                Channel client = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                        .option(ChannelOption.AUTO_READ, false)
                        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                        .handler(new Side(heard, "ping"))
                        .connect(server.localAddress()).sync().channel();
                client.closeFuture().addListener(f -> done.countDown());
                assertThat(done.await(5, TimeUnit.SECONDS)).as("exchange %d over", i).isTrue();
                assertThat(heard.toString()).isEqualTo("pong");
            }
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static EventLoopGroup group(IoHandlerFactory factory) {
        return new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("epoll-registrations"), factory);
    }

    /** Sends its word and FIN once active (client) or once the peer's FIN came (server); reads explicitly. */
    private static final class Side extends ChannelInboundHandlerAdapter {
        private final StringBuilder heard;
        private final String word;
        private boolean sent;
        private boolean finRead;

        Side(StringBuilder heard, String word) {
            this.heard = heard;
            this.word = word;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
            if (heard != null) {
                send(ctx);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (heard != null) {
                heard.append(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                finRead = true;
                if (!sent) {
                    send(ctx);
                } else {
                    ctx.close();
                }
            }
        }

        private void send(ChannelHandlerContext ctx) {
            sent = true;
            ctx.writeAndFlush(Unpooled.copiedBuffer(word, StandardCharsets.US_ASCII)).addListener(
                    (ChannelFutureListener) f -> {
                        if (finRead) {
                            ctx.close();
                        } else {
                            ((DuplexChannel) ctx.channel()).shutdownOutput();
                        }
                    });
        }
    }

    /** Counts what reaches Netty's handler: an epoll_ctl per submit (but the first, empty one), a DEL per cancel of an open, added fd. */
    private static final class Counts {
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger deletes = new AtomicInteger();

        IoHandlerFactory around(IoHandlerFactory epoll) {
            return new IoHandlerFactory() {
                @Override
                public IoHandler newHandler(ThreadAwareExecutor ioExecutor) {
                    return new Counting(epoll.newHandler(ioExecutor));
                }
            };
        }

        private final class Counting implements IoHandler {
            private final IoHandler delegate;

            Counting(IoHandler delegate) {
                this.delegate = delegate;
            }

            @Override
            public int run(IoHandlerContext context) {
                return delegate.run(context);
            }

            @Override
            public void initialize() {
                delegate.initialize();
            }

            @Override
            public void prepareToDestroy() {
                delegate.prepareToDestroy();
            }

            @Override
            public void destroy() {
                delegate.destroy();
            }

            @Override
            public IoRegistration register(IoHandle handle) throws Exception {
                IoRegistration registration = delegate.register(handle);
                EpollIoHandle epoll = (EpollIoHandle) handle;
                return new IoRegistration() {
                    private boolean added;

                    @Override
                    public <T> T attachment() {
                        return registration.attachment();
                    }

                    @Override
                    public long submit(IoOps ops) {
                        if (((EpollIoOps) ops).value() != 0 || added) {
                            added = true;
                            calls.incrementAndGet();
                        }
                        return registration.submit(ops);
                    }

                    @Override
                    public boolean isValid() {
                        return registration.isValid();
                    }

                    @Override
                    public boolean cancel() {
                        if (added && registration.isValid() && epoll.fd().isOpen()) {
                            deletes.incrementAndGet();
                        }
                        return registration.cancel();
                    }
                };
            }

            @Override
            public void wakeup() {
                delegate.wakeup();
            }

            @Override
            public boolean isCompatible(Class<? extends IoHandle> handleType) {
                return delegate.isCompatible(handleType);
            }
        }
    }
}
