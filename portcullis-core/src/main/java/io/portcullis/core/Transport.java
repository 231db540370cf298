package io.portcullis.core;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.slf4j.LoggerFactory;

/**
 * The I/O transports Portcullis runs on.
 *
 * <p>{@code auto} is io_uring where the kernel and the seccomp profile allow it, epoll otherwise, NIO where
 * neither runs; why a better one was passed over is logged once. io_uring submits socket operations in batches
 * (one system call per loop turn instead of one per accept, read, write, close and epoll_ctl), which raises the
 * connection rate most where system calls are dear. Container runtimes' default seccomp profiles forbid it, so
 * there {@code auto} is epoll; asking for io_uring by name there stops the start with the reason.
 *
 * <p>Netty's io_uring transport (4.2.15 to 4.2.18) waits for readable data with a multishot poll, which the kernel
 * makes edge-triggered. When a client's reset lands together with its last bytes, one wake-up reports both; the
 * read that takes the bytes finds the socket empty, so Netty stops reading and waits for the next edge, which
 * never comes: the reset is never reported (bench/repro/io_uring-lost-reset.sh). With the single-shot poll,
 * armed anew each time, the kernel reports the pending reset at once. So unless the operator sets
 * {@value #POLL_MULTISHOT} explicitly, it is set to false here, before Netty's io_uring classes read it.
 *
 * <p>Likewise {@value #ACCEPT_MULTISHOT}: when a multishot accept ends in an error (EMFILE when the process is out
 * of files), Netty's io_uring server channel arms it again at once, even after its acceptor turned auto-read off to
 * pause accepting for a second, so the accept fails and is re-armed in a busy loop for as long as files are short.
 * A single-shot accept is armed only while auto-read is on, which gives the pause epoll and NIO have.
 */
public enum Transport {
    /** Linux io_uring: the fewest system calls; only where the kernel and the seccomp profile allow it. */
    IO_URING("io_uring", IoUringServerSocketChannel.class, IoUringSocketChannel.class, IoUringDatagramChannel.class),
    /** Linux epoll, Netty's native transport. */
    EPOLL("epoll", EpollServerSocketChannel.class, EpollSocketChannel.class, EpollDatagramChannel.class),
    /** Java's NIO selector: everywhere. */
    NIO("nio", NioServerSocketChannel.class, NioSocketChannel.class, NioDatagramChannel.class);

    /** Netty's switch for the multishot poll of its io_uring transport (read once, when its classes load). */
    static final String POLL_MULTISHOT = "io.netty.iouring.pollAddMultishotEnabled";
    /** Netty's switch for the multishot accept of its io_uring transport (read once, when its classes load). */
    static final String ACCEPT_MULTISHOT = "io.netty.iouring.acceptMultiShotEnabled";

    static {
        if (System.getProperty(POLL_MULTISHOT) == null) {
            System.setProperty(POLL_MULTISHOT, "false");
        }
        if (System.getProperty(ACCEPT_MULTISHOT) == null) {
            System.setProperty(ACCEPT_MULTISHOT, "false");
        }
    }

    private final String label;
    private final Class<? extends ServerChannel> serverChannelType;
    private final Class<? extends SocketChannel> channelType;
    private final Class<? extends DatagramChannel> datagramChannelType;

    Transport(String label, Class<? extends ServerChannel> serverChannelType,
              Class<? extends SocketChannel> channelType, Class<? extends DatagramChannel> datagramChannelType) {
        this.label = label;
        this.serverChannelType = serverChannelType;
        this.channelType = channelType;
        this.datagramChannelType = datagramChannelType;
    }

    /**
     * The name used in configuration and logs.
     *
     * @return {@code io_uring}, {@code epoll} or {@code nio}
     */
    public String label() {
        return label;
    }

    /**
     * Why this transport cannot run here.
     *
     * @return the reason, or empty when it can run
     */
    public Optional<String> unavailability() {
        Throwable cause = switch (this) {
            case IO_URING -> IoUring.isAvailable() ? null : IoUring.unavailabilityCause();
            case EPOLL -> Epoll.isAvailable() ? null : Epoll.unavailabilityCause();
            case NIO -> null;
        };
        return Optional.ofNullable(cause).map(Throwable::toString);
    }

    /**
     * What {@code auto} means here: io_uring where available, else epoll, else NIO. The first call logs the
     * choice and why each better transport was passed over.
     *
     * @return the transport
     */
    public static Transport auto() {
        return Auto.CHOICE;
    }

    /**
     * Picks the first transport, in declaration order (fewest system calls first), that runs here.
     *
     * @param unavailability why a transport cannot run, empty when it can
     * @param passedOver     receives each transport passed over and why
     * @return the transport; NIO when no other runs
     */
    static Transport firstAvailable(Function<Transport, Optional<String>> unavailability,
                                    BiConsumer<Transport, String> passedOver) {
        for (Transport t : values()) {
            Optional<String> why = unavailability.apply(t);
            if (why.isEmpty()) {
                return t;
            }
            passedOver.accept(t, why.get());
        }
        return NIO;
    }

    /** Decided once: availability does not change while the process runs, and the log line is worth one. */
    private static final class Auto {
        static final Transport CHOICE = firstAvailable(Transport::unavailability, (t, why) -> LoggerFactory.getLogger(Transport.class)
                .info("Transport auto: not {} ({})", t.label(), why));
    }

    /**
     * The transport of a name.
     *
     * @param name {@code auto}, {@code io_uring}, {@code epoll} or {@code nio} (any case); see {@link #auto()}
     * @return the transport
     * @throws IllegalArgumentException for another name
     */
    public static Transport parse(String name) {
        if (name.equalsIgnoreCase("auto")) {
            return auto();
        }
        for (Transport t : values()) {
            if (t.label.equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown transport '" + name + "' (expected auto, io_uring, epoll or nio)");
    }

    IoHandlerFactory ioHandlerFactory() {
        return switch (this) {
            case IO_URING -> IoUringIoHandler.newFactory();
            // Through EpollRegistrations: stock Netty 4.2.13+ fails writes to half-closed connections, and it calls
            // epoll_ctl more often than needed.
            case EPOLL -> EpollRegistrations.wrap(EpollIoHandler.newFactory());
            case NIO -> NioIoHandler.newFactory();
        };
    }

    Class<? extends ServerChannel> serverChannelType() {
        return serverChannelType;
    }

    Class<? extends SocketChannel> channelType() {
        return channelType;
    }

    Class<? extends DatagramChannel> datagramChannelType() {
        return datagramChannelType;
    }
}
