package io.portcullis.core;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.util.concurrent.ThreadAwareExecutor;

/**
 * Wraps Netty's {@code EpollIoHandler} factory to work around a bug in Netty 4.2's epoll transport
 * (present in 4.2.15 through at least 4.2.20) that breaks half-closed connections.
 *
 * <p>The bug: {@code EpollIoHandler.DefaultEpollIoRegistration.submit(IoOps)} removes the fd from epoll
 * ({@code EPOLL_CTL_DEL}) when a channel's interest set drops to nothing, but keeps its state as
 * "added". On a later non-empty interest it issues {@code EPOLL_CTL_MOD}, which fails with
 * {@code ENOENT}; the channel treats that as a write error, shuts its output and fails every pending
 * write. A stream channel's interest drops to nothing once it has read the peer's FIN with
 * {@code ALLOW_HALF_CLOSURE} (EPOLLRDHUP cleared, no EPOLLIN wanted), so the next write that fills the
 * socket send buffer (needing EPOLLOUT) kills the output: a client that half-closes and then receives
 * more than a socket buffer's worth loses the rest of the data.
 *
 * <p>The workaround: once the fd has been added, an empty interest set is submitted as
 * {@code EPOLLET} alone instead. The fd stays in epoll, so a later {@code EPOLL_CTL_MOD} succeeds; with
 * no event of interest and edge triggering, the EPOLLHUP/EPOLLERR that the kernel always reports arrive
 * at most once per change instead of waking the loop over and over (the busy loop Netty's DEL was
 * meant to prevent, netty/netty#16683). Every other submission, and cancellation, goes to Netty
 * unchanged, except one that repeats the interest set already in force: Netty submits its current set
 * again once a connect completes, which would be an {@code epoll_ctl} call per backend connection for nothing.
 *
 * <p>Remove once Netty fixes the registration state; {@code EpollHalfCloseTest} has a test that
 * fails when the stock handler no longer shows the bug.
 */
final class EpollHalfCloseWorkaround implements IoHandlerFactory {

    private final IoHandlerFactory epoll;

    private EpollHalfCloseWorkaround(IoHandlerFactory epoll) {
        this.epoll = epoll;
    }

    /** {@code epoll} must make {@code EpollIoHandler}s, e.g. {@code EpollIoHandler.newFactory()}. */
    static IoHandlerFactory wrap(IoHandlerFactory epoll) {
        return new EpollHalfCloseWorkaround(epoll);
    }

    @Override
    public IoHandler newHandler(ThreadAwareExecutor ioExecutor) {
        return new Handler(epoll.newHandler(ioExecutor));
    }

    @Override
    public boolean isChangingThreadSupported() {
        return epoll.isChangingThreadSupported();
    }

    private static final class Handler implements IoHandler {
        private final IoHandler delegate;

        Handler(IoHandler delegate) {
            this.delegate = delegate;
        }

        @Override
        public void initialize() {
            delegate.initialize();
        }

        @Override
        public int run(IoHandlerContext context) {
            return delegate.run(context);
        }

        @Override
        public void prepareToDestroy() {
            delegate.prepareToDestroy();
        }

        @Override
        public void destroy() {
            delegate.destroy();
        }

        @Override
        public IoRegistration register(IoHandle handle) throws Exception {
            return new Registration(delegate.register(handle));
        }

        @Override
        public void wakeup() {
            delegate.wakeup();
        }

        @Override
        public boolean isCompatible(Class<? extends IoHandle> handleType) {
            return delegate.isCompatible(handleType);
        }
    }

    /** Never lets an added fd's interest become empty; see the class comment. */
    static final class Registration implements IoRegistration {
        private final IoRegistration delegate;
        /** The interest set in epoll now; -1 until Netty adds the fd, on its first non-empty submission. */
        private volatile int current = -1;

        Registration(IoRegistration delegate) {
            this.delegate = delegate;
        }

        @Override
        public <T> T attachment() {
            return delegate.attachment();
        }

        @Override
        public long submit(IoOps ops) {
            int value = ((EpollIoOps) ops).value();
            if (value == 0) {
                if (current == -1) {
                    return delegate.submit(ops);
                }
                value = EpollIoOps.EPOLLET.value();
            }
            if (value == current && delegate.isValid()) {
                return value;
            }
            long result = delegate.submit(EpollIoOps.valueOf(value));
            // Not the result's sign: EPOLLET alone is a negative int.
            current = value;
            return result;
        }

        @Override
        public boolean isValid() {
            return delegate.isValid();
        }

        @Override
        public boolean cancel() {
            return delegate.cancel();
        }
    }
}
