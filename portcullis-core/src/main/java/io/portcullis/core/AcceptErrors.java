package io.portcullis.core;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a listening channel: what accepting failed with (EMFILE when the process is out of files,
 * ENFILE, ENOBUFS) as one line per burst, without a stack trace. Netty's acceptor, before it, has already paused
 * accepting for a second; without this handler each failure reached the pipeline's tail as a warning with a
 * stack trace, every second for as long as the files ran short.
 */
final class AcceptErrors extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(Listener.class);
    /** At most one line in this time; the failures in between are counted into the next line. */
    static final long QUIET_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final String listener;
    private final LongSupplier nanoTime;
    private long lastLine;
    private boolean logged;
    private long unlogged;
    /** Lines written: for tests. */
    int lines;

    AcceptErrors(String listener) {
        this(listener, System::nanoTime);
    }

    AcceptErrors(String listener, LongSupplier nanoTime) {
        this.listener = listener;
        this.nanoTime = nanoTime;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        long now = nanoTime.getAsLong();
        if (logged && now - lastLine < QUIET_NANOS) {
            unlogged++;
            return;
        }
        lines++;
        log.warn("Listener '{}': accepting a connection failed: {}; accepting pauses for 1 s{}", listener,
                cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName(),
                unlogged == 0 ? "" : " (" + unlogged + " more failures since the last line)");
        logged = true;
        lastLine = now;
        unlogged = 0;
    }
}
