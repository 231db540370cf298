package io.portcullis.core.relay;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;

/**
 * How a {@link Relay} reaches a backend: {@link RelayAcceptHandler}'s bootstraps, or in tests a channel made
 * by hand (an EmbeddedChannel whose connect the test completes).
 */
@FunctionalInterface
interface BackendConnector {

    /**
     * Opens a channel on {@code loop} with {@code handler} as its pipeline and connects it to {@code backend}.
     * Event loop of {@code loop}; the future may be done already.
     */
    ChannelFuture connect(EventLoop loop, ChannelHandler handler, InetSocketAddress backend);
}
