package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.portcullis.core.testing.TestTransports;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Netty's native epoll transport and half-closed connections: after a connection's peer sent FIN
 * (ALLOW_HALF_CLOSURE), the server must still be able to send it more than a socket buffer's worth.
 */
class EpollHalfCloseTest {

    private static final int TOTAL = 8 * 1024 * 1024;
    private static final int CHUNK = 64 * 1024;
    private static final int CLIENT_RCVBUF = 16 * 1024;
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final byte[] HELLO = "hello".getBytes(StandardCharsets.US_ASCII);

    private static final TestTransports TRANSPORTS = new TestTransports(1);

    @AfterAll
    static void shutdown() {
        TRANSPORTS.close();
    }

    /** Every transport available here, with auto-read off and on. */
    static Stream<Arguments> cases() {
        return TestTransports.labels().flatMap(t -> Stream.of(Arguments.of(t, false), Arguments.of(t, true)));
    }

    @Test
    void epollIsTestedWhereTheKernelHasIt() {
        assumeTrue(Epoll.isAvailable(), () -> "native epoll unavailable: " + Epoll.unavailabilityCause());
        assertThat(TestTransports.labels()).contains("epoll");
        assertThat(TRANSPORTS.loops("epoll").transportName()).isEqualTo("epoll");
    }

    /** The gateway's loops: on epoll, {@link EventLoops} installs {@link EpollRegistrations}. */
    @ParameterizedTest(name = "{0}, autoRead={1}")
    @MethodSource("cases")
    void halfClosedClientReceivesEverything(String transport, boolean autoRead) throws Exception {
        EventLoops loops = TRANSPORTS.loops(transport);
        Result result = transfer(loops.workers(), loops.workers(), loops.serverChannelType(), autoRead);
        result.assertComplete();
    }

    /**
     * Stock Netty, no workaround: documents the bug. When this fails after a Netty upgrade, the bug is
     * fixed upstream and the half-close part of {@link EpollRegistrations} can go.
     */
    @Test
    void stockEpollStillFailsWritesAfterHalfClose() throws Exception {
        assumeTrue(Epoll.isAvailable(), () -> "native epoll unavailable: " + Epoll.unavailabilityCause());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("stock-epoll"), EpollIoHandler.newFactory());
        try {
            Result result = transfer(group, group, EpollServerSocketChannel.class, false);
            assertThat(result.clientReceived).as("bytes the client received").isLessThan(TOTAL);
            assertThat(result.serverFailures).as("server failures")
                    .anySatisfy(t -> assertThat(causes(t))
                            .as("causes of %s", t)
                            .anySatisfy(c -> assertThat(c.getMessage()).contains("epoll_ctl")
                                    .contains("No such file or directory")));
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /** "ChannelOutputShutdownException: ... <- UncheckedIOException: ... <- ...". */
    static String chain(Throwable t) {
        return String.join(" <- ", causes(t).stream().map(Throwable::toString).toList());
    }

    private static List<Throwable> causes(Throwable t) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable c = t; c != null && chain.size() < 10; c = c.getCause()) {
            chain.add(c);
        }
        return chain;
    }

    /**
     * One connection: the client sends a few bytes and FIN; after the server sees the input shutdown it
     * writes {@link #TOTAL} bytes, which the client (small receive buffer, late start) then reads.
     */
    private static Result transfer(EventLoopGroup parents, EventLoopGroup children,
            Class<? extends ServerChannel> serverType, boolean autoRead) throws Exception {
        Result result = new Result();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(parents, children)
                .channel(serverType)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.AUTO_READ, autoRead)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HalfCloseWriter(result, autoRead));
                    }
                });
        ChannelFuture bind = bootstrap.bind(InetAddress.getLoopbackAddress(), 0);
        assertThat(bind.awaitUninterruptibly(DEADLINE.toMillis())).as("bound in time").isTrue();
        Channel server = bind.channel();
        assertThat(bind.isSuccess()).as("bound: %s", bind.cause()).isTrue();
        try (Socket client = new Socket()) {
            client.setReceiveBufferSize(CLIENT_RCVBUF);
            client.setSoTimeout((int) DEADLINE.toMillis());
            client.connect(server.localAddress(), (int) DEADLINE.toMillis());
            client.getOutputStream().write(HELLO);
            client.shutdownOutput();
            assertThat(result.inputShutdown.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS))
                    .as("server saw the input shutdown").isTrue();
            // The server starts writing 100 ms after the input shutdown; let it fill its send buffer.
            Thread.sleep(200);
            readSlowly(client, result);
        } finally {
            Channel child = result.child;
            if (child != null) {
                child.close().awaitUninterruptibly(DEADLINE.toMillis());
            }
            server.close().awaitUninterruptibly(DEADLINE.toMillis());
        }
        assertThat(result.serverClosed.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS))
                .as("server closed the connection").isTrue();
        return result;
    }

    private static void readSlowly(Socket client, Result result) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        InputStream in = client.getInputStream();
        byte[] buf = new byte[8192];
        long sinceNap = 0;
        try {
            for (;;) {
                if (System.nanoTime() - deadline > 0) {
                    result.clientError = "client read deadline passed";
                    return;
                }
                int n = in.read(buf);
                if (n < 0) {
                    return;
                }
                for (int i = 0; i < n; i++) {
                    long offset = result.clientReceived + i;
                    if (buf[i] != pattern(offset) && result.clientError == null) {
                        result.clientError = "corrupt byte at offset " + offset;
                    }
                }
                result.clientReceived += n;
                sinceNap += n;
                if (sinceNap >= 256 * 1024) {
                    sinceNap = 0;
                    Thread.sleep(1);
                }
            }
        } catch (SocketTimeoutException e) {
            result.clientError = "client read timed out after " + result.clientReceived + " bytes";
        } catch (IOException e) {
            result.clientError = "client read failed after " + result.clientReceived + " bytes: " + e;
        }
    }

    static byte pattern(long offset) {
        return (byte) (offset % 251);
    }

    /** {@code pattern(i)} for i in [0, CHUNK + 251): any chunk's bytes are one slice of it. */
    private static final byte[] PATTERN = new byte[CHUNK + 251];

    static {
        for (int i = 0; i < PATTERN.length; i++) {
            PATTERN[i] = pattern(i);
        }
    }

    /** Outcome of one transfer, as seen by both ends. */
    static final class Result {
        final CountDownLatch inputShutdown = new CountDownLatch(1);
        final CountDownLatch serverClosed = new CountDownLatch(1);
        final AtomicLong serverRead = new AtomicLong();
        final AtomicLong writesSucceeded = new AtomicLong();
        final Queue<Throwable> serverFailures = new ConcurrentLinkedQueue<>();
        volatile Channel child;
        volatile long clientReceived;
        volatile String clientError;

        void assertComplete() {
            assertThat(serverFailures.stream().map(EpollHalfCloseTest::chain).toList())
                    .as("write failures and exceptions on the server (client received %d of %d bytes)",
                            clientReceived, TOTAL)
                    .isEmpty();
            assertThat(clientError).as("client error").isNull();
            assertThat(serverRead.get()).as("bytes the server read before FIN").isEqualTo(HELLO.length);
            assertThat(writesSucceeded.get()).as("bytes whose write future succeeded").isEqualTo(TOTAL);
            assertThat(clientReceived).as("bytes the client received").isEqualTo(TOTAL);
        }

    }

    /**
     * Reads with explicit {@code read()} calls (when auto-read is off); once the peer's FIN arrives, writes
     * {@link #TOTAL} bytes in chunks as writability allows, then shuts its output and closes.
     */
    private static final class HalfCloseWriter extends ChannelInboundHandlerAdapter {
        private final Result result;
        private final boolean autoRead;
        private long written;
        private boolean writing;

        HalfCloseWriter(Result result, boolean autoRead) {
            this.result = result;
            this.autoRead = autoRead;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            result.child = ctx.channel();
            ctx.channel().closeFuture().addListener(f -> result.serverClosed.countDown());
            if (!autoRead) {
                ctx.read();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                result.serverRead.addAndGet(buf.readableBytes());
            } finally {
                buf.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (!autoRead) {
                ctx.read();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                result.inputShutdown.countDown();
                writing = true;
                // As in a relay, the data comes later (from the backend), by when the event loop has
                // processed the input shutdown completely.
                ctx.executor().schedule(() -> writeMore(ctx), 100, TimeUnit.MILLISECONDS);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (writing && ctx.channel().isWritable()) {
                writeMore(ctx);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.serverFailures.add(cause);
            ctx.close();
        }

        private void writeMore(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            while (written < TOTAL && ch.isActive() && ch.isWritable()) {
                int len = (int) Math.min(CHUNK, TOTAL - written);
                // One bulk write: at PARANOID every ByteBuf access records a stack trace.
                ByteBuf chunk = ctx.alloc().buffer(len).writeBytes(PATTERN, (int) (written % 251), len);
                written += len;
                ctx.writeAndFlush(chunk).addListener((ChannelFuture f) -> {
                    if (f.isSuccess()) {
                        result.writesSucceeded.addAndGet(len);
                    } else {
                        result.serverFailures.add(f.cause());
                        f.channel().close();
                    }
                });
            }
            if (written >= TOTAL && writing) {
                writing = false;
                // After the last chunk: FIN to the client, then close.
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFuture f) -> {
                    if (f.isSuccess()) {
                        ((DuplexChannel) f.channel()).shutdownOutput().addListener(s -> f.channel().close());
                    } else {
                        f.channel().close();
                    }
                });
            }
        }
    }
}
