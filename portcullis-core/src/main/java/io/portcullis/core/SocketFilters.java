package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.unix.RawUnixChannelOption;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Puts a {@link SourceFilter} on a socket with {@code setsockopt(SOL_SOCKET, SO_ATTACH_FILTER)}, through Netty's
 * raw socket options: no native library of our own, and it works alike on the epoll and io_uring channels.
 * {@code struct sock_fprog} holds a pointer to the instructions, so they go into native memory first.
 */
final class SocketFilters {

    private static final int SOL_SOCKET = 1;
    private static final RawUnixChannelOption SO_ATTACH_FILTER = new RawUnixChannelOption("SO_ATTACH_FILTER", SOL_SOCKET, 26, 16);
    private static final RawUnixChannelOption SO_DETACH_FILTER = new RawUnixChannelOption("SO_DETACH_FILTER", SOL_SOCKET, 27, 4);
    /** {@code u32 meminfo[SK_MEMINFO_VARS]}; Linux 4.x has 9 entries, later kernels keep those first. */
    private static final RawUnixChannelOption SO_MEMINFO = new RawUnixChannelOption("SO_MEMINFO", SOL_SOCKET, 55, 36);
    private static final int SK_MEMINFO_DROPS = 8;
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private SocketFilters() {
    }

    /**
     * Attaches {@code filter}, replacing the socket's filter in one step (packets see the old or the new one).
     *
     * @throws io.netty.channel.ChannelException when the kernel refuses it
     * @throws UnsupportedOperationException when the runtime gives no native address for the program
     */
    static void attach(Channel channel, SourceFilter filter) {
        int[] program = filter.program();
        int count = program.length / 4;
        ByteBuf instructions = Unpooled.directBuffer(count * 8, count * 8);
        try {
            if (!instructions.hasMemoryAddress()) {
                throw new UnsupportedOperationException("the runtime gives no native memory address (no Unsafe)");
            }
            for (int i = 0; i < program.length; i += 4) {
                if (LITTLE_ENDIAN) {
                    instructions.writeShortLE(program[i]).writeByte(program[i + 1]).writeByte(program[i + 2])
                            .writeIntLE(program[i + 3]);
                } else {
                    instructions.writeShort(program[i]).writeByte(program[i + 1]).writeByte(program[i + 2])
                            .writeInt(program[i + 3]);
                }
            }
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the pointer 8-byte aligned.
            ByteBuffer fprog = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
            fprog.putShort(0, (short) count).putLong(8, instructions.memoryAddress());
            channel.config().setOption(SO_ATTACH_FILTER, fprog);
        } finally {
            instructions.release();
        }
    }

    /**
     * The packets the kernel dropped at the socket ({@code sk_drops}, from {@code SO_MEMINFO}): on a listening TCP
     * socket the SYNs its filter refused and those a full accept queue turned away. A 32-bit count that wraps.
     *
     * @throws io.netty.channel.ChannelException when the socket cannot tell (closed)
     */
    static long drops(Channel channel) {
        ByteBuffer meminfo = channel.config().getOption(SO_MEMINFO).order(ByteOrder.nativeOrder());
        return meminfo.getInt(SK_MEMINFO_DROPS * 4) & 0xffffffffL;
    }

    /** Removes the socket's filter. @throws io.netty.channel.ChannelException when it has none */
    static void detach(Channel channel) {
        channel.config().setOption(SO_DETACH_FILTER, ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()));
    }
}
