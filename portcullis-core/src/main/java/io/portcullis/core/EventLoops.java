package io.portcullis.core;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event loops of a gateway and the {@link Transport} they run, chosen once at start and logged.
 * {@code workers} I/O threads do everything: listening sockets accept on them, and listeners and backend
 * connections share them so a relay's two sides stay on one loop.
 *
 * <p>No separate acceptor thread: handing each accepted socket to another thread cost a wake-up (an
 * eventfd write and an extra epoll wait) and two context switches per connection, which on a small
 * machine was a large share of the connection rate (HAProxy and nginx accept on their workers too).
 */
public final class EventLoops implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EventLoops.class);

    private final Transport transport;
    private final EventLoopGroup workers;

    private EventLoops(Transport transport, int workerThreads) {
        this.transport = transport;
        this.workers = new MultiThreadIoEventLoopGroup(workerThreads, new DefaultThreadFactory("portcullis-io"),
                transport.ioHandlerFactory());
    }

    /**
     * Creates the loops on the {@link Transport#auto() auto} transport.
     *
     * @param workerThreads I/O threads; 0 or less means one per core
     * @return the loops, running
     */
    public static EventLoops create(int workerThreads) {
        return create(Transport.auto(), workerThreads);
    }

    /**
     * Creates the loops on {@code transport}.
     *
     * @param transport     the transport
     * @param workerThreads I/O threads; 0 or less means one per core
     * @return the loops, running
     * @throws IllegalStateException when the transport cannot run here, with the reason
     */
    public static EventLoops create(Transport transport, int workerThreads) {
        int threads = workerThreads > 0 ? workerThreads : Runtime.getRuntime().availableProcessors();
        transport.unavailability().ifPresent(why -> {
            throw new IllegalStateException("transport " + transport.label() + " is unavailable here: " + why);
        });
        log.info("Transport: {}, {} I/O threads", transport.label(), threads);
        if (transport == Transport.IO_URING && IoUring.isAcceptMultishotEnabled()) {
            // Set by the operator, or read by Netty before Transport could turn it off.
            log.warn("Transport io_uring with multishot accept ({}): out of files, accepting retries in a busy loop"
                    + " instead of pausing", Transport.ACCEPT_MULTISHOT);
        }
        return new EventLoops(transport, threads);
    }

    /**
     * Creates the loops on NIO even where a native transport is available.
     *
     * @param workerThreads I/O threads; 0 or less means one per core
     * @return the loops, running
     */
    public static EventLoops nio(int workerThreads) {
        return create(Transport.NIO, workerThreads);
    }

    /**
     * The transport the loops run.
     *
     * @return the transport
     */
    public Transport transport() {
        return transport;
    }

    /**
     * The transport's name for logs.
     *
     * @return {@code io_uring}, {@code epoll} or {@code nio}
     */
    public String transportName() {
        return transport.label();
    }

    /**
     * The I/O threads.
     *
     * @return the event loop group
     */
    public EventLoopGroup workers() {
        return workers;
    }

    /**
     * The listening socket's channel class on this transport.
     *
     * @return the class
     */
    public Class<? extends ServerChannel> serverChannelType() {
        return transport.serverChannelType();
    }

    /**
     * A TCP connection's channel class on this transport.
     *
     * @return the class
     */
    public Class<? extends SocketChannel> channelType() {
        return transport.channelType();
    }

    /**
     * A UDP socket's channel class on this transport (for DNS).
     *
     * @return the class
     */
    public Class<? extends DatagramChannel> datagramChannelType() {
        return transport.datagramChannelType();
    }

    /**
     * Shuts the loops down. Not from an event loop.
     *
     * @param deadline how long to wait for them to stop
     */
    public void close(Duration deadline) {
        workers.shutdownGracefully(0, deadline.toMillis(), TimeUnit.MILLISECONDS);
        workers.terminationFuture().awaitUninterruptibly(deadline.toMillis());
    }

    /** Shuts the loops down, waiting at most 5 s. Not from an event loop. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
