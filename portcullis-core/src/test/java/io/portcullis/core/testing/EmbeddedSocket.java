package io.portcullis.core.testing;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An {@link EmbeddedChannel} that stands in for one TCP socket, for testing one handler without sockets or
 * threads: it has addresses, half-closes both ways (a FIN read, {@link #shutdownOutput()}), can be reset,
 * keeps {@code SO_LINGER}, delivers bytes only when the pipeline asked for a read (auto-read is off, as on
 * every Portcullis socket), and its output can stall like a peer that stops reading. Its clock moves only
 * through {@link #advance} and {@link #tick}.
 *
 * <p>Create it, add handlers, then {@link #activate()} (registration, which fires channelActive). What the
 * pipeline writes is kept as bytes ({@link #written()}), the buffers released at once. A FIN is delivered
 * whether or not a read is pending, as epoll reports a peer's shutdown.
 */
public final class EmbeddedSocket extends EmbeddedChannel implements DuplexChannel {

    private final InetSocketAddress remote;
    private final InetSocketAddress local;
    private final MockTicker ticker;
    private final SocketConfig config = new SocketConfig(this);
    private final ByteArrayOutputStream wire = new ByteArrayOutputStream();
    private boolean readPending;
    private int readRequests;
    private boolean stalled;
    private boolean inputShutdown;
    private boolean outputShutdown;
    private int bytesBeforeFin = -1;
    private long unwrittenAtFin;

    public EmbeddedSocket(InetSocketAddress remote, InetSocketAddress local) {
        this(remote, local, Ticker.newMockTicker());
    }

    private EmbeddedSocket(InetSocketAddress remote, InetSocketAddress local, MockTicker ticker) {
        super(EmbeddedChannel.builder().register(false).ticker(ticker));
        this.remote = remote;
        this.local = local;
        this.ticker = ticker;
    }

    /** Registers the channel, which makes it active (channelActive runs now). */
    public EmbeddedSocket activate() {
        try {
            register();
        } catch (Exception e) {
            throw new IllegalStateException("registration failed", e);
        }
        checkException();
        return this;
    }

    @Override
    public DefaultChannelConfig config() {
        return config;
    }

    /** SO_LINGER as last set; -1 (the kernel's default, a graceful close) unless a handler set it. */
    public int soLinger() {
        return config.soLinger;
    }

    // ---- the peer's side: what the test does to this socket

    /** Whether the pipeline asked for a read that no delivery has answered yet. */
    public boolean readRequested() {
        return readPending;
    }

    /** Reads the pipeline asked for so far. */
    public int readRequests() {
        return readRequests;
    }

    /**
     * One read batch from the peer: each segment a channelRead, then channelReadComplete, and the tasks
     * queued meanwhile run. Only when a read is requested, as a socket with auto-read off behaves (never once
     * closed).
     *
     * @throws IllegalStateException when no read is requested (the bytes would wait in the kernel)
     */
    public void receive(ByteBuf... segments) {
        if (!readPending) {
            for (ByteBuf s : segments) {
                s.release();
            }
            throw new IllegalStateException("no read requested: the peer's bytes would wait in the kernel");
        }
        readPending = false;
        for (ByteBuf s : segments) {
            pipeline().fireChannelRead(s);
        }
        pipeline().fireChannelReadComplete();
        runPendingTasks();
        checkException();
    }

    /** One read batch of {@code text} (ISO-8859-1) in one segment. */
    public void receive(String text) {
        receive(bytes(text));
    }

    /** {@code text} one byte per read, each read requested by the pipeline before it is delivered. */
    public void receiveByteByByte(String text) {
        for (int i = 0; i < text.length(); i++) {
            receive(text.substring(i, i + 1));
        }
    }

    /** A buffer of this channel's allocator (so the leak detector tracks it) holding {@code text}. */
    public ByteBuf bytes(String text) {
        ByteBuf buf = alloc().buffer(text.length());
        buf.writeCharSequence(text, StandardCharsets.ISO_8859_1);
        return buf;
    }

    /**
     * The peer shut its output (a FIN): input shutdown and its event where half-closure is allowed (as on every
     * Portcullis socket), else a close. Nothing once this socket is closed.
     */
    public void receiveFin() {
        if (!isOpen()) {
            return;
        }
        inputShutdown = true;
        if (config.allowHalfClosure) {
            pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        } else {
            close();
        }
        runPendingTasks();
        checkException();
    }

    /** The peer reset the connection: the error a read gets, then the close that follows it. Nothing once closed. */
    public void receiveReset() {
        if (!isOpen()) {
            return;
        }
        pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        close();
        runPendingTasks();
        checkException();
    }

    /** Stops taking written bytes off the channel (they stay queued, counting against the water mark). */
    public void stall() {
        stalled = true;
    }

    /** Takes the queued bytes again, which fires the writability change when they drop below the low mark. */
    public void drain() {
        stalled = false;
        flush();
        runPendingTasks();
        checkException();
    }

    /** Moves this channel's clock and runs what is queued, then what became due. */
    public void advance(Duration d) {
        tick(d);
        runPendingTasks();
        checkException();
    }

    /**
     * Moves this channel's clock only: {@link #runScheduledPendingTasks()} then runs what became due ahead of the
     * tasks queued already, as a loop does with a timer that fired before a task from another thread arrived.
     */
    public void tick(Duration d) {
        ticker.advance(d.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Bytes written and flushed to the peer so far, as ISO-8859-1. */
    public String written() {
        return wire.toString(StandardCharsets.ISO_8859_1);
    }

    /** Bytes queued to the peer and not yet taken (unflushed, or flushed while stalled). */
    public long queuedBytes() {
        ChannelOutboundBuffer out = unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    private long flushedUnwritten() {
        ChannelOutboundBuffer out = unsafe().outboundBuffer();
        long[] sum = {0};
        if (out != null) {
            try {
                out.forEachFlushedMessage(msg -> {
                    if (msg instanceof ByteBuf buf) {
                        sum[0] += buf.readableBytes();
                    }
                    return true;
                });
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return sum[0];
    }

    /** Written bytes before the FIN was sent, -1 while none was. */
    public int bytesBeforeFin() {
        return bytesBeforeFin;
    }

    /** Bytes flushed but still queued when the output was shut: a real socket fails them. */
    public long unwrittenAtFin() {
        return unwrittenAtFin;
    }

    // ---- the channel

    @Override
    protected SocketAddress localAddress0() {
        return isActive() ? local : null;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return isActive() ? remote : null;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    @Override
    protected void doClose() throws Exception {
        readPending = false;
        super.doClose();
    }

    @Override
    protected void doBeginRead() {
        readPending = true;
        readRequests++;
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        if (!stalled) {
            super.doWrite(in);
        }
    }

    @Override
    protected void handleOutboundMessage(Object msg) {
        if (msg instanceof ByteBuf buf) {
            try {
                buf.readBytes(wire, buf.readableBytes());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } finally {
                buf.release();
            }
        } else {
            super.handleOutboundMessage(msg);
        }
    }

    @Override
    public boolean isInputShutdown() {
        return inputShutdown;
    }

    @Override
    public ChannelFuture shutdownInput() {
        return shutdownInput(newPromise());
    }

    @Override
    public ChannelFuture shutdownInput(ChannelPromise promise) {
        inputShutdown = true;
        return promise.setSuccess();
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShutdown;
    }

    @Override
    public ChannelFuture shutdownOutput() {
        return shutdownOutput(newPromise());
    }

    /** Sends the FIN: what was taken off the channel by now went before it. */
    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
        if (!outputShutdown) {
            outputShutdown = true;
            bytesBeforeFin = wire.size();
            unwrittenAtFin = flushedUnwritten();
        }
        return promise.setSuccess();
    }

    @Override
    public boolean isShutdown() {
        return inputShutdown && outputShutdown;
    }

    @Override
    public ChannelFuture shutdown() {
        return shutdown(newPromise());
    }

    @Override
    public ChannelFuture shutdown(ChannelPromise promise) {
        shutdownInput();
        return shutdownOutput(promise);
    }

    /** The default config, plus the socket options the handlers set: SO_LINGER and half-closure. */
    private static final class SocketConfig extends DefaultChannelConfig {
        private int soLinger = -1;
        private boolean allowHalfClosure = true;

        SocketConfig(Channel channel) {
            super(channel);
            setAutoRead(false);
        }

        @Override
        public Map<ChannelOption<?>, Object> getOptions() {
            return getOptions(super.getOptions(), ChannelOption.SO_LINGER, ChannelOption.ALLOW_HALF_CLOSURE);
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T getOption(ChannelOption<T> option) {
            if (option == ChannelOption.SO_LINGER) {
                return (T) Integer.valueOf(soLinger);
            }
            if (option == ChannelOption.ALLOW_HALF_CLOSURE) {
                return (T) Boolean.valueOf(allowHalfClosure);
            }
            return super.getOption(option);
        }

        @Override
        public <T> boolean setOption(ChannelOption<T> option, T value) {
            validate(option, value);
            if (option == ChannelOption.SO_LINGER) {
                soLinger = (Integer) value;
                return true;
            }
            if (option == ChannelOption.ALLOW_HALF_CLOSURE) {
                allowHalfClosure = (Boolean) value;
                return true;
            }
            return super.setOption(option, value);
        }
    }
}
