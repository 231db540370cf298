package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Netty's adaptive read sizing, with a cap on each read while a connection's early bytes are held
 * ({@link EarlyBytes}): a read never brings in more than the room left, so what is held stays within its
 * bound however the client writes. Uncapped, it reads exactly as the adaptive allocator does.
 *
 * <p>One instance per channel, set before its first read (a channel keeps the handle it made first).
 * Netty has no per-read limit of its own, hence this small wrapper. Event loop only.
 */
final class CappedReads implements RecvByteBufAllocator {

    private static final AdaptiveRecvByteBufAllocator ADAPTIVE = new AdaptiveRecvByteBufAllocator();

    private int cap = Integer.MAX_VALUE;
    private CappedHandle handle;

    /** Each read brings at most {@code bytes} (at least 1). */
    void cap(int bytes) {
        cap = Math.max(1, bytes);
    }

    void uncap() {
        cap = Integer.MAX_VALUE;
    }

    int currentCap() {
        return cap;
    }

    /** The channel's one handle: made once (epoll's config asks for one just to check its type, then the channel). */
    @Override
    public Handle newHandle() {
        if (handle == null) {
            handle = new CappedHandle((ExtendedHandle) ADAPTIVE.newHandle());
        }
        return handle;
    }

    private final class CappedHandle implements ExtendedHandle {
        private final ExtendedHandle adaptive;

        CappedHandle(ExtendedHandle adaptive) {
            this.adaptive = adaptive;
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return alloc.ioBuffer(guess());
        }

        @Override
        public int guess() {
            return Math.min(adaptive.guess(), cap);
        }

        @Override
        public void reset(ChannelConfig config) {
            adaptive.reset(config);
        }

        @Override
        public void incMessagesRead(int numMessages) {
            adaptive.incMessagesRead(numMessages);
        }

        @Override
        public void lastBytesRead(int bytes) {
            adaptive.lastBytesRead(bytes);
        }

        @Override
        public int lastBytesRead() {
            return adaptive.lastBytesRead();
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            adaptive.attemptedBytesRead(bytes);
        }

        @Override
        public int attemptedBytesRead() {
            return adaptive.attemptedBytesRead();
        }

        @Override
        public boolean continueReading() {
            return adaptive.continueReading();
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return adaptive.continueReading(maybeMoreDataSupplier);
        }

        @Override
        public void readComplete() {
            adaptive.readComplete();
        }
    }
}
