package io.portcullis.core.testing;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;

/** PROXY-protocol headers as a balancer sends them, for tests: Netty's encoder, independent of the decoder. */
public final class ProxyProtocolBytes {

    private ProxyProtocolBytes() {
    }

    /** The bytes of {@code msg}, which is released. */
    public static byte[] encode(HAProxyMessage msg) {
        EmbeddedChannel encoder = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        encoder.writeOutbound(msg);
        ByteBuf out = encoder.readOutbound();
        try {
            byte[] b = new byte[out.readableBytes()];
            out.readBytes(b);
            return b;
        } finally {
            out.release();
            encoder.finishAndReleaseAll();
        }
    }
}
