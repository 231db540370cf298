import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Plain Netty, no Portcullis code: 200 clients each send 14 bytes and reset (SO_LINGER 0). On epoll every
 * server channel sees the reset (exceptionCaught, then channelInactive); on io_uring some never do, with
 * auto-read on or off. Usage: java -cp CLASSPATH IoUringLostReset.java io_uring|epoll [autoRead]
 */
public class IoUringLostReset {
    public static void main(String[] args) throws Exception {
        boolean uring = args[0].equals("io_uring");
        boolean autoRead = args.length > 1 && Boolean.parseBoolean(args[1]);
        IoHandlerFactory factory = uring ? IoUringIoHandler.newFactory() : EpollIoHandler.newFactory();
        Class<? extends ServerChannel> type = uring ? IoUringServerSocketChannel.class : EpollServerSocketChannel.class;
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, factory);
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
        Channel server = new ServerBootstrap().group(group).channel(type)
                .childOption(ChannelOption.AUTO_READ, autoRead)
                .childHandler(handler)
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        int clients = 200;
        for (int i = 0; i < clients; i++) {
            try (Socket s = new Socket()) {
                s.connect(server.localAddress());
                s.getOutputStream().write("half a request".getBytes(StandardCharsets.US_ASCII));
                s.setSoLinger(true, 0);
            }
        }
        Thread.sleep(2000);
        System.out.printf("%s autoRead=%s: %d clients reset, %d server channels saw it (inactive), %d reads%n",
                args[0], autoRead, clients, inactive.get(), reads.get());
        server.close().sync();
        group.shutdownGracefully().sync();
    }
}
