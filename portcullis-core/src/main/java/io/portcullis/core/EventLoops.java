package io.portcullis.core;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
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
     * Creates the loops on the {@link Transport#auto() auto} transport. {@code workerThreads <= 0} means one per core.
     */
    public static EventLoops create(int workerThreads) {
        return create(Transport.auto(), workerThreads);
    }

    /**
     * Creates the loops on {@code transport}. {@code workerThreads <= 0} means one per core.
     *
     * @throws IllegalStateException when the transport cannot run here, with the reason
     */
    public static EventLoops create(Transport transport, int workerThreads) {
        int threads = workerThreads > 0 ? workerThreads : Runtime.getRuntime().availableProcessors();
        transport.unavailability().ifPresent(why -> {
            throw new IllegalStateException("transport " + transport.label() + " is unavailable here: " + why);
        });
        log.info("Transport: {}, {} I/O threads", transport.label(), threads);
        return new EventLoops(transport, threads);
    }

    /** Creates the loops on NIO even where a native transport is available. */
    public static EventLoops nio(int workerThreads) {
        return create(Transport.NIO, workerThreads);
    }

    public Transport transport() {
        return transport;
    }

    public String transportName() {
        return transport.label();
    }

    public EventLoopGroup workers() {
        return workers;
    }

    public Class<? extends ServerChannel> serverChannelType() {
        return transport.serverChannelType();
    }

    public Class<? extends SocketChannel> channelType() {
        return transport.channelType();
    }

    public Class<? extends DatagramChannel> datagramChannelType() {
        return transport.datagramChannelType();
    }

    /** Shuts the loops down, waiting at most {@code deadline}. Not from an event loop. */
    public void close(Duration deadline) {
        workers.shutdownGracefully(0, deadline.toMillis(), TimeUnit.MILLISECONDS);
        workers.terminationFuture().awaitUninterruptibly(deadline.toMillis());
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
