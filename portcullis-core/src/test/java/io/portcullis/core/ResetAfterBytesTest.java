package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Clients that send a few bytes and reset at once: every server channel must see the reset, on every transport.
 * Netty's own channels and loops through {@link EventLoops}, no Portcullis handler, so this holds the transports
 * (and the io_uring setting {@link Transport} makes) to it, not the relay's bounds. On io_uring with Netty's
 * multishot poll a few in a few hundred are never reported; the test then fails.
 */
class ResetAfterBytesTest {

    @ParameterizedTest
    @MethodSource("io.portcullis.core.testing.TestTransports#labels")
    void everyResetRightAfterBytesIsSeen(String label) throws Exception {
        for (boolean autoRead : new boolean[] {false, true}) {
            try (EventLoops loops = EventLoops.create(Transport.parse(label), 1)) {
                AtomicInteger inactive = new AtomicInteger();
                AtomicInteger reads = new AtomicInteger();
                ChannelHandler handler = new ChannelInboundHandlerAdapter() {
                    @Override
                    public boolean isSharable() {
                        return true;
                    }

                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        ctx.read();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        reads.incrementAndGet();
                        ReferenceCountUtil.release(msg);
                    }

                    @Override
                    public void channelReadComplete(ChannelHandlerContext ctx) {
                        ctx.read();
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        ctx.close();
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        inactive.incrementAndGet();
                    }
                };
                Channel server = new ServerBootstrap().group(loops.workers()).channel(loops.serverChannelType())
                        .childOption(ChannelOption.AUTO_READ, autoRead).childHandler(handler)
                        .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
                try {
                    int clients = 400;
                    for (int i = 0; i < clients; i++) {
                        try (Socket s = new Socket()) {
                            s.connect(server.localAddress(), 5000);
                            s.getOutputStream().write("half a request".getBytes(StandardCharsets.US_ASCII));
                            s.setSoLinger(true, 0);
                        }
                    }
                    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                            assertThat(inactive.get()).as(label + ", auto-read " + autoRead
                                    + ": server channels that saw the reset").isEqualTo(clients));
                    assertThat(reads.get()).isPositive();
                } finally {
                    server.close().sync();
                }
            }
        }
    }
}
