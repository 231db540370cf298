package io.portcullis.core.relay;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import io.portcullis.core.InspectRequest;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/** The PROXY-protocol header a relay writes to its backend first, so the backend sees the real client. */
final class ProxyHeaderOut {

    private static final String ENCODER = "portcullis-proxy-encoder";

    private ProxyHeaderOut() {
    }

    /** The header for {@code request}, or null when none is sent. */
    static HAProxyMessage of(RelaySettings.SendProxy mode, InspectRequest request) {
        if (mode == RelaySettings.SendProxy.OFF) {
            return null;
        }
        InetAddress src = request.source().getAddress();
        InetAddress dst = request.destination().getAddress();
        // Both ends of a header are of one family: an IPv4 end beside an IPv6 one goes IPv4-mapped.
        boolean v6 = src instanceof Inet6Address || dst instanceof Inet6Address;
        String srcText = text(src, v6);
        String dstText = text(dst, v6);
        HAProxyProxiedProtocol protocol = v6 ? HAProxyProxiedProtocol.TCP6 : HAProxyProxiedProtocol.TCP4;
        int srcPort = request.source().getPort();
        int dstPort = request.destination().getPort();
        if (mode == RelaySettings.SendProxy.V1) {
            return new HAProxyMessage(HAProxyProtocolVersion.V1, HAProxyCommand.PROXY, protocol, srcText, dstText,
                    srcPort, dstPort);
        }
        Optional<String> authority = request.sni().or(() -> request.proxy().flatMap(h -> h.authority()));
        List<HAProxyTLV> tlvs = authority
                .map(a -> List.of(new HAProxyTLV(HAProxyTLV.Type.PP2_TYPE_AUTHORITY,
                        Unpooled.copiedBuffer(a, StandardCharsets.US_ASCII))))
                .orElse(List.of());
        return new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.PROXY, protocol, srcText, dstText,
                srcPort, dstPort, tlvs);
    }

    private static String text(InetAddress address, boolean v6) {
        return v6 && address instanceof Inet4Address ? "::ffff:" + address.getHostAddress() : address.getHostAddress();
    }

    /** Writes {@code header} (released by the write) to the connected backend, not flushed. Its event loop. */
    static void write(Channel backend, HAProxyMessage header) {
        // Netty's encoder, only for this one message: the relay's bytes go on as they are.
        backend.pipeline().addFirst(ENCODER, HAProxyMessageEncoder.INSTANCE);
        backend.write(header, backend.voidPromise());
        backend.pipeline().remove(ENCODER);
    }
}
