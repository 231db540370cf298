package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.Optional;

/**
 * A connection that passed inspection, handed to an {@link AcceptHandler} or returned by
 * {@link Listener#accept()}.
 *
 * <p>The channel's auto-read is off. Until the new owner calls {@link #takeEarlyData()}, a
 * Portcullis handler in the pipeline keeps every byte the client sent so far; the owner installs its
 * own handlers, then takes those bytes (which removes the Portcullis handler), delivers them first and
 * starts reading.
 */
public final class AcceptedConnection {

    private final Channel channel;
    private final InspectRequest request;
    private final InspectionHandler holder;
    private final Optional<String> route;

    AcceptedConnection(Channel channel, InspectRequest request, InspectionHandler holder, Optional<String> route) {
        this.channel = channel;
        this.request = request;
        this.holder = holder;
        this.route = route;
    }

    /**
     * The named backend pool this connection goes to: the completion's route, else the verdict's
     * ({@link Verdict#route()}, {@link Completion#route()}). Any thread.
     *
     * @return the pool's name; empty for the accept handler's default
     */
    public Optional<String> route() {
        return route;
    }

    /**
     * The client's channel. Any thread.
     *
     * @return the channel, auto-read off
     */
    public Channel channel() {
        return channel;
    }

    /**
     * What the inspection saw. Any thread.
     *
     * @return the inspected request
     */
    public InspectRequest request() {
        return request;
    }

    /**
     * Takes the bytes the client sent before acceptance (possibly none) and removes Portcullis' holding
     * handler from the pipeline; the caller owns and releases the buffer. Later calls return an empty
     * buffer. If the client half-closed after those bytes (a FIN: it has sent all it will), a
     * {@link io.netty.channel.socket.ChannelInputShutdownEvent} follows through the pipeline, in a task after
     * this one. Event loop of {@link #channel()} only: install your handlers first, in the same task.
     *
     * @return the early bytes, possibly empty; the caller releases them
     * @throws IllegalStateException when called from another thread
     */
    public ByteBuf takeEarlyData() {
        if (!channel.eventLoop().inEventLoop()) {
            throw new IllegalStateException("takeEarlyData() must run on the connection's event loop ("
                    + channel.eventLoop() + "); hop there with channel().eventLoop().execute(...)");
        }
        return holder.handOver();
    }

    /** Closes the connection; held bytes are released with it. Any thread; repeated calls are harmless. */
    public void close() {
        channel.close();
    }

    @Override
    public String toString() {
        return "AcceptedConnection[" + request.id() + " " + request.listener() + " " + request.source()
                + route.map(r -> " route " + r).orElse("") + "]";
    }
}
