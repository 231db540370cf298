package io.portcullis.gateway.listener;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event loops of a gateway and the transport they run: Netty's native epoll where the platform
 * has it, NIO otherwise, chosen once at start and logged. One acceptor thread and {@code workers}
 * I/O threads; listeners and backend connections share them so a relay's two sides stay on one loop.
 */
public final class EventLoops implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EventLoops.class);

    private final boolean epoll;
    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;

    private EventLoops(boolean epoll, int workerThreads) {
        this.epoll = epoll;
        // Epoll through EpollHalfCloseWorkaround: stock Netty 4.2.13+ fails writes to half-closed connections.
        IoHandlerFactory factory = epoll
                ? EpollHalfCloseWorkaround.wrap(EpollIoHandler.newFactory())
                : NioIoHandler.newFactory();
        this.acceptors = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("portcullis-accept"), factory);
        this.workers = new MultiThreadIoEventLoopGroup(workerThreads, new DefaultThreadFactory("portcullis-io"), factory);
    }

    /**
     * Creates the loops with the best transport available. {@code workerThreads <= 0} means one per core.
     */
    public static EventLoops create(int workerThreads) {
        int threads = workerThreads > 0 ? workerThreads : Runtime.getRuntime().availableProcessors();
        boolean epoll = Epoll.isAvailable();
        if (epoll) {
            log.info("Transport: native epoll, {} I/O threads", threads);
        } else {
            log.info("Transport: NIO, {} I/O threads (native epoll unavailable: {})",
                    threads, Epoll.unavailabilityCause().toString());
        }
        return new EventLoops(epoll, threads);
    }

    /** Creates the loops on NIO even where epoll is available; for tests of both transports. */
    public static EventLoops nio(int workerThreads) {
        log.info("Transport: NIO (forced), {} I/O threads", workerThreads);
        return new EventLoops(false, workerThreads);
    }

    public String transportName() {
        return epoll ? "epoll" : "nio";
    }

    public EventLoopGroup acceptors() {
        return acceptors;
    }

    public EventLoopGroup workers() {
        return workers;
    }

    public Class<? extends ServerChannel> serverChannelType() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public Class<? extends SocketChannel> channelType() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** Shuts both groups down, waiting at most {@code deadline}. Not from an event loop. */
    public void close(Duration deadline) {
        acceptors.shutdownGracefully(0, deadline.toMillis(), TimeUnit.MILLISECONDS);
        workers.shutdownGracefully(0, deadline.toMillis(), TimeUnit.MILLISECONDS);
        acceptors.terminationFuture().awaitUninterruptibly(deadline.toMillis());
        workers.terminationFuture().awaitUninterruptibly(deadline.toMillis());
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
