package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The bounded holder of early bytes, on an EmbeddedChannel: what it holds in memory, not only what is readable. */
class EarlyBytesTest {

    private static final int BOUND = 16 * 1024;

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final CappedReads reads = new CappedReads();

    {
        channel.config().setRecvByteBufAllocator(reads);
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    /** A read as a transport makes it: a pooled buffer of the allocator's guess, holding {@code n} bytes. */
    private static ByteBuf read(int capacity, byte... bytes) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(capacity);
        buf.writeBytes(bytes);
        return buf;
    }

    @Test
    void oneByteReadsAreCopiedIntoOneBufferWithinTwiceTheBytes() {
        EarlyBytes early = new EarlyBytes(channel, BOUND);
        for (int i = 0; i < BOUND; i++) {
            assertThat(early.hasRoom()).isTrue();
            early.add(read(2048, (byte) i));
            assertThat(early.capacity()).as("after %d bytes", i + 1).isLessThanOrEqualTo(Math.max(64, 2 * (i + 1)));
        }
        assertThat(early.hasRoom()).as("full").isFalse();
        ByteBuf data = early.take();
        try {
            assertThat(data.readableBytes()).isEqualTo(BOUND);
            for (int i = 0; i < BOUND; i++) {
                assertThat(data.getByte(i)).isEqualTo((byte) i);
            }
        } finally {
            data.release();
        }
    }

    @Test
    void eachReadIsCappedToTheRoomLeftAndTheCapIsLiftedOnHandOver() {
        EarlyBytes early = new EarlyBytes(channel, 100);
        assertThat(early.hasRoom()).isTrue();
        assertThat(reads.currentCap()).isEqualTo(100);
        early.add(read(64, new byte[60]));
        assertThat(early.hasRoom()).isTrue();
        assertThat(reads.currentCap()).isEqualTo(40);
        assertThat(reads.newHandle().guess()).as("what a read asks for").isEqualTo(40);
        early.add(read(64, new byte[40]));
        assertThat(early.hasRoom()).isFalse();
        early.take().release();
        assertThat(reads.currentCap()).isEqualTo(Integer.MAX_VALUE);
        assertThat(reads.newHandle().guess()).as("adaptive again").isEqualTo(2048);
    }

    @Test
    void aWellFilledFirstReadIsKeptWithoutACopy() {
        EarlyBytes early = new EarlyBytes(channel, BOUND);
        ByteBuf first = read(1024, new byte[1000]);
        early.add(first);
        ByteBuf data = early.take();
        assertThat(data).isSameAs(first);
        data.release();
    }

    @Test
    void handedOverBytesStartAHolderThatKeepsAppending() {
        ByteBuf handed = read(16, (byte) 1, (byte) 2);
        EarlyBytes early = EarlyBytes.of(channel, 8, handed);
        early.add(read(16, (byte) 3));
        assertThat(early.readableBytes()).isEqualTo(3);
        ByteBuf data = early.take();
        assertThat(data.getByte(0)).isEqualTo((byte) 1);
        assertThat(data.getByte(2)).isEqualTo((byte) 3);
        data.release();
        assertThat(early.take().isReadable()).as("empty after the hand-over").isFalse();
    }

    @Test
    void releaseIsIdempotentAndEmptyReadsAreDropped() {
        EarlyBytes early = new EarlyBytes(channel, BOUND);
        ByteBuf empty = read(16);
        early.add(empty);
        assertThat(empty.refCnt()).isZero();
        assertThat(early.isEmpty()).isTrue();
        early.add(read(16, (byte) 7));
        early.release();
        early.release();
        assertThat(early.isEmpty()).isTrue();
    }

    /** hold-bytes 0 is a valid setting: nothing is read while pended, and handing over gives nothing. */
    @Test
    void aBoundOfZeroHoldsNothingAndReadsNothing() {
        EarlyBytes early = new EarlyBytes(channel, 0);
        assertThat(early.hasRoom()).isFalse();
        ByteBuf data = early.take();
        assertThat(data.isReadable()).isFalse();
        data.release();
    }
}
