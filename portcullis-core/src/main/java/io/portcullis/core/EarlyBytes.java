package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;

/**
 * Client bytes read before they can be relayed (while pended, while the backend connects), bounded by
 * what they hold in memory, not only by what is readable.
 *
 * <p>Reads are copied into one buffer: a thousand 1-byte reads would otherwise hold a thousand pooled
 * read buffers of a few KiB each. A first read that fills its buffer well is kept as it is (no copy for
 * the common single-segment request). On a listener's channels each read is also capped to the room
 * left ({@link CappedReads}), so the held bytes never pass the bound and the buffer's capacity stays
 * within twice the bound. Event loop of the channel only.
 */
public final class EarlyBytes {

    private final Channel channel;
    private final int bound;
    private ByteBuf held;

    /**
     * @param channel the client's channel, whose reads fill this holder
     * @param bound   bytes held at most; the caller stops reading once {@link #hasRoom()} is false
     */
    public EarlyBytes(Channel channel, int bound) {
        if (bound < 0) {
            throw new IllegalArgumentException("bound must not be negative: " + bound);
        }
        this.channel = channel;
        this.bound = bound;
    }

    /**
     * A holder that starts with {@code data}, such as the bytes a listener handed over.
     *
     * @param channel the client's channel
     * @param bound   bytes held at most (raised to what {@code data} holds, if more)
     * @param data    taken over; may be empty
     * @return the holder
     */
    public static EarlyBytes of(Channel channel, int bound, ByteBuf data) {
        EarlyBytes early = new EarlyBytes(channel, Math.max(bound, data.readableBytes()));
        if (data.isReadable()) {
            early.held = data;
        } else {
            data.release();
        }
        return early;
    }

    /**
     * Bytes held now.
     *
     * @return the count
     */
    public int readableBytes() {
        return held == null ? 0 : held.readableBytes();
    }

    /**
     * Whether nothing is held.
     *
     * @return true when empty
     */
    public boolean isEmpty() {
        return readableBytes() == 0;
    }

    /**
     * Whether another read may be requested; caps that read to the room left.
     *
     * @return false once the bound is reached
     */
    public boolean hasRoom() {
        int room = bound - readableBytes();
        if (room <= 0) {
            return false;
        }
        if (channel.config().getRecvByteBufAllocator() instanceof CappedReads capped) {
            capped.cap(room);
        }
        return true;
    }

    /**
     * Holds {@code buf}'s bytes after those held.
     *
     * @param buf taken over (released here or kept)
     */
    public void add(ByteBuf buf) {
        if (!buf.isReadable()) {
            buf.release();
            return;
        }
        if (held == null) {
            if (buf.capacity() <= 2 * buf.readableBytes()) {
                held = buf;
                return;
            }
            held = channel.alloc().buffer(buf.readableBytes());
        } else if (held.maxWritableBytes() < buf.readableBytes()) {
            // A read-only or tight buffer kept from the first read: move it into one we own.
            ByteBuf grown = channel.alloc().buffer(held.readableBytes() + buf.readableBytes());
            grown.writeBytes(held);
            held.release();
            held = grown;
        }
        try {
            held.writeBytes(buf);
        } finally {
            buf.release();
        }
    }

    /**
     * The memory the held bytes take (for tests and meters).
     *
     * @return the capacity of the buffer held, 0 when none
     */
    public int capacity() {
        return held == null ? 0 : held.capacity();
    }

    /**
     * Hands the bytes over and lifts the read cap; the holder is empty after.
     *
     * @return the bytes, possibly empty; the caller releases them
     */
    public ByteBuf take() {
        if (channel.config().getRecvByteBufAllocator() instanceof CappedReads capped) {
            capped.uncap();
        }
        ByteBuf data = held == null ? Unpooled.EMPTY_BUFFER : held;
        held = null;
        return data;
    }

    /** Drops what is held. Idempotent. */
    public void release() {
        if (held != null) {
            held.release();
            held = null;
        }
    }
}
