package io.portcullis.core;

import io.netty.channel.Channel;
import io.netty.channel.IoEvent;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.concurrent.ThreadAwareExecutor;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the epoll loops give the kernel each channel's interest set: Netty's {@code EpollIoHandler}, wrapped for
 * one bug and for fewer {@code epoll_ctl} calls. The channels are Netty's own; only their registrations pass here.
 *
 * <p><b>Half-closed connections</b> (a bug in Netty 4.2.15 through at least 4.2.20):
 * {@code EpollIoHandler.DefaultEpollIoRegistration.submit(IoOps)} removes the fd from epoll ({@code EPOLL_CTL_DEL})
 * when a channel's interest set drops to nothing, but keeps its state as "added". On a later non-empty interest it
 * issues {@code EPOLL_CTL_MOD}, which fails with {@code ENOENT}; the channel treats that as a write error, shuts its
 * output and fails every pending write. A stream channel's interest drops to nothing once it has read the peer's FIN
 * with {@code ALLOW_HALF_CLOSURE}, so the next write that fills the socket send buffer kills the output: a client that
 * half-closes and then receives more than a socket buffer's worth loses the rest. Here an added fd's empty set is
 * {@code EPOLLET} alone: the fd stays in epoll, and with no event of interest and edge triggering, the
 * EPOLLHUP/EPOLLERR the kernel always reports arrive once per change instead of waking the loop over and over (the
 * busy loop Netty's DEL was meant to prevent, netty/netty#16683).
 *
 * <p><b>One {@code epoll_ctl} per channel and loop turn</b>: Netty calls {@code epoll_ctl} at each change of a
 * channel's set, and a relayed connection's set changes twice within one turn several times (registered, then a read
 * wanted; EPOLLOUT off after the connect, then EPOLLIN on; EPOLLIN and EPOLLRDHUP off after a FIN; and Netty submits
 * the set in force again after a connect). Only the set in force when the loop next polls matters, so a change is
 * noted and each channel's last set goes to the kernel once, just before the poll, and not at all when it is the set
 * the kernel has. Nothing is missed by applying later: no poll happens in between, and an ADD or MOD reports what
 * is ready at that moment (Netty 4.2 registers level-triggered).
 *
 * <p><b>No {@code EPOLL_CTL_DEL} before a close</b>: Netty cancels a closing channel's registration just before it
 * closes the fd, while the fd is still open, so it removes it from epoll first; the kernel does that itself when the
 * fd closes (Netty relies on it when the fd is closed already). A registration cancelled while its channel closes
 * (Netty has taken the channel's outbound buffer away by then) is cancelled as if the fd were closed. The registration
 * still leaves Netty's fd map at once, so an fd number reused by the next socket finds no stale entry.
 *
 * <p>Remove the half-close part once Netty fixes its registration state; {@code EpollHalfCloseTest} has a test that
 * fails when the stock handler no longer shows the bug. {@code EpollRegistrationsTest} counts the calls saved.
 */
final class EpollRegistrations implements IoHandlerFactory {

    private static final Logger log = LoggerFactory.getLogger(EpollRegistrations.class);
    private static final int EDGE_ONLY = EpollIoOps.EPOLLET.value();

    private final IoHandlerFactory epoll;

    private EpollRegistrations(IoHandlerFactory epoll) {
        this.epoll = epoll;
    }

    /** {@code epoll} must make {@code EpollIoHandler}s, e.g. {@code EpollIoHandler.newFactory()}. */
    static IoHandlerFactory wrap(IoHandlerFactory epoll) {
        return new EpollRegistrations(epoll);
    }

    @Override
    public IoHandler newHandler(ThreadAwareExecutor ioExecutor) {
        return new Handler(epoll.newHandler(ioExecutor), ioExecutor);
    }

    @Override
    public boolean isChangingThreadSupported() {
        return epoll.isChangingThreadSupported();
    }

    private static final class Handler implements IoHandler {
        private final IoHandler delegate;
        private final ThreadAwareExecutor executor;
        /** Registrations whose set changed since the last poll. Loop only. */
        private final ArrayDeque<Registration> changed = new ArrayDeque<>();

        Handler(IoHandler delegate, ThreadAwareExecutor executor) {
            this.delegate = delegate;
            this.executor = executor;
        }

        @Override
        public void initialize() {
            delegate.initialize();
        }

        @Override
        public int run(IoHandlerContext context) {
            // Every poll of the loop happens in the delegate's run: the kernel has each set in force before it.
            Registration r;
            while ((r = changed.poll()) != null) {
                r.apply();
            }
            return delegate.run(context);
        }

        @Override
        public void prepareToDestroy() {
            changed.clear();
            delegate.prepareToDestroy();
        }

        @Override
        public void destroy() {
            delegate.destroy();
        }

        @Override
        public IoRegistration register(IoHandle handle) throws Exception {
            Handle view = new Handle((EpollIoHandle) handle);
            Registration registration = new Registration(this, view);
            registration.delegate = delegate.register(view);
            return registration;
        }

        @Override
        public void wakeup() {
            delegate.wakeup();
        }

        @Override
        public boolean isCompatible(Class<? extends IoHandle> handleType) {
            return delegate.isCompatible(handleType);
        }

        boolean inLoop() {
            return executor.isExecutorThread(Thread.currentThread());
        }
    }

    /** A channel's registration: notes its set and applies the last one before the poll; see the class comment. */
    static final class Registration implements IoRegistration {
        private final Handler handler;
        private final Handle handle;
        private IoRegistration delegate;
        /** Whether the fd is in epoll: from the first non-empty set applied. */
        private boolean added;
        /** The set the kernel has, once added. */
        private int applied;
        /** The set Netty asked for last. */
        private int wanted;
        private boolean queued;
        private volatile boolean cancelled;

        Registration(Handler handler, Handle handle) {
            this.handler = handler;
            this.handle = handle;
        }

        @Override
        public <T> T attachment() {
            return delegate.attachment();
        }

        @Override
        public long submit(IoOps ops) {
            if (cancelled) {
                return -1;
            }
            int value = ((EpollIoOps) ops).value();
            wanted = value;
            if (!handler.inLoop()) {
                // Netty's channels change their sets on their loop only; anything else is applied as Netty would.
                apply();
            } else if (!queued) {
                queued = true;
                handler.changed.add(this);
            }
            return value;
        }

        /** Gives the kernel the set wanted now, if it differs from what it has. Loop only. */
        void apply() {
            queued = false;
            if (cancelled) {
                return;
            }
            int value = wanted;
            if (value == 0) {
                if (!added) {
                    return; // nothing wanted yet: not added, as Netty does
                }
                value = EDGE_ONLY; // never an empty set once added: see the half-close bug
            }
            if (added && value == applied) {
                return;
            }
            try {
                delegate.submit(EpollIoOps.valueOf(value));
                added = true;
                applied = value;
            } catch (UncheckedIOException e) {
                // Netty closes a channel whose epoll_ctl failed; its caller is gone by now, so close it here.
                log.debug("epoll_ctl for fd {} failed; closing its channel", handle.fd.intValue(), e);
                try {
                    handle.close();
                } catch (Exception closeFailed) {
                    log.debug("closing fd {} failed", handle.fd.intValue(), closeFailed);
                }
            }
        }

        @Override
        public boolean isValid() {
            return !cancelled && delegate.isValid();
        }

        @Override
        public boolean cancel() {
            cancelled = true;
            if (handle.closing()) {
                handle.fd.closing = true;
            }
            return delegate.cancel();
        }
    }

    /** Netty's handle as the delegate sees it: its fd reads as closed once the channel is closing. */
    static final class Handle implements EpollIoHandle {
        private final EpollIoHandle handle;
        private final ClosingFd fd;

        Handle(EpollIoHandle handle) {
            this.handle = handle;
            this.fd = new ClosingFd(handle.fd());
        }

        /** A channel's unsafe loses its outbound buffer when a close starts, before the fd is deregistered. */
        boolean closing() {
            return handle instanceof Channel.Unsafe unsafe && unsafe.outboundBuffer() == null;
        }

        @Override
        public FileDescriptor fd() {
            return fd;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent ioEvent) {
            handle.handle(registration, ioEvent);
        }

        @Override
        public void registered() {
            handle.registered();
        }

        @Override
        public void unregistered() {
            handle.unregistered();
        }

        @Override
        public void close() throws Exception {
            handle.close();
        }
    }

    /**
     * The fd's number and open state for the delegate, which reads nothing else of it; never closed itself (the
     * channel closes its own descriptor).
     */
    static final class ClosingFd extends FileDescriptor {
        private final FileDescriptor fd;
        volatile boolean closing;

        ClosingFd(FileDescriptor fd) {
            super(fd.intValue());
            this.fd = fd;
        }

        @Override
        public boolean isOpen() {
            return !closing && fd.isOpen();
        }
    }
}
