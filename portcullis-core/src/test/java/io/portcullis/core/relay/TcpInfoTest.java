package io.portcullis.core.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollTcpInfo;
import io.portcullis.core.EventLoops;
import io.portcullis.core.Transport;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The relay's reading of {@code TCP_INFO} (state, unacknowledged segments) on both native transports: io_uring's
 * goes through raw socket-option bytes, so their offsets are checked against what the socket must say.
 */
class TcpInfoTest {

    private static final int ESTABLISHED = 1;
    private static final int CLOSE_WAIT = 8;

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "io_uring"})
    void stateAndUnackedAsTheKernelHasThem(String label) throws Exception {
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
                EpollTcpInfo reuse = new EpollTcpInfo();
                long info = ch.eventLoop().submit(() -> Relay.tcpStateAndUnacked(ch, reuse)).get();
                assertThat(info >>> 32).as("state").isEqualTo(ESTABLISHED);
                assertThat((int) info).as("unacked").isZero();

                // A segment the peer's kernel acknowledges: unacked back to 0; then the peer's FIN: CLOSE_WAIT.
                ch.writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {1, 2, 3})).sync();
                assertThat(peer.getInputStream().readNBytes(3)).containsExactly(1, 2, 3);
                peer.shutdownOutput();
                await().atMost(Duration.ofSeconds(5)).until(() ->
                        ch.eventLoop().submit(() -> Relay.tcpStateAndUnacked(ch, reuse)).get() >>> 32 == CLOSE_WAIT);
                assertThat((int) (long) ch.eventLoop().submit(() -> Relay.tcpStateAndUnacked(ch, reuse)).get())
                        .as("unacked").isZero();
            } finally {
                ch.close().sync();
            }
        }
    }
}
