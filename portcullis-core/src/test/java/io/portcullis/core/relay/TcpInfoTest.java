package io.portcullis.core.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.portcullis.core.EventLoops;
import io.portcullis.core.Transport;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The relay's reading of {@code TCP_INFO} (state; bytes unsent or unacknowledged) on both native transports: it goes
 * through raw socket-option bytes, so their offsets are checked against what the socket must say.
 */
class TcpInfoTest {

    private static final int ESTABLISHED = 1;
    private static final int CLOSE_WAIT = 8;

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "io_uring"})
    void stateAndOutstandingBytesAsTheKernelHasThem(String label) throws Exception {
        Transport transport = Transport.parse(label);
        org.junit.jupiter.api.Assumptions.assumeTrue(transport.unavailability().isEmpty(),
                () -> label + " unavailable here: " + transport.unavailability().orElse(""));
        try (EventLoops loops = EventLoops.create(transport, 1);
             ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Channel ch = new Bootstrap().group(loops.workers()).channel(loops.channelType())
                    .option(io.netty.channel.ChannelOption.AUTO_READ, false) // the FIN leaves it open, in CLOSE_WAIT
                    .option(io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(server.getLocalSocketAddress()).sync().channel();
            try (Socket peer = server.accept()) {
                long info = ch.eventLoop().submit(() -> Relay.tcpStateAndOutstanding(ch)).get();
                assertThat(info >>> 32).as("state").isEqualTo(ESTABLISHED);
                assertThat((int) info).as("outstanding").isZero();

                // More than the peer's receive buffer and our send buffer hold while it does not read: bytes sit in
                // our socket unsent (tcpi_notsent_bytes) or unacknowledged, and the reading must say so.
                int size = 32 << 20;
                ch.writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(new byte[size]));
                await().atMost(Duration.ofSeconds(5)).until(() -> !ch.isWritable());
                assertThat((int) (long) ch.eventLoop().submit(() -> Relay.tcpStateAndOutstanding(ch)).get())
                        .as("outstanding while the peer does not read").isPositive();
                assertThat(peer.getInputStream().readNBytes(size)).hasSize(size);

                // Every byte taken: nothing outstanding; then the peer's FIN: CLOSE_WAIT.
                await().atMost(Duration.ofSeconds(5)).until(() ->
                        (int) (long) ch.eventLoop().submit(() -> Relay.tcpStateAndOutstanding(ch)).get() == 0);
                peer.shutdownOutput();
                await().atMost(Duration.ofSeconds(5)).until(() ->
                        ch.eventLoop().submit(() -> Relay.tcpStateAndOutstanding(ch)).get() >>> 32 == CLOSE_WAIT);
            } finally {
                ch.close().sync();
            }
        }
    }
}
