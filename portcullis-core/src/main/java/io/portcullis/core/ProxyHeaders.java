package io.portcullis.core;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/** Turns Netty's decoded {@link HAProxyMessage} into what a request carries. */
final class ProxyHeaders {

    /** Past this many TLVs a header is refused: each becomes an object kept for the connection's life. */
    static final int MAX_TLVS = 64;

    private ProxyHeaders() {
    }

    /** A header that cannot be used: malformed for this gateway even if Netty parsed it. */
    static final class Unusable extends Exception {
        Unusable(String message) {
            super(message, null, false, false);
        }
    }

    static ProxyHeader header(HAProxyMessage msg) throws Unusable {
        int version = msg.protocolVersion() == HAProxyProtocolVersion.V1 ? 1 : 2;
        List<HAProxyTLV> raw = msg.tlvs();
        if (raw.size() > MAX_TLVS) {
            throw new Unusable(raw.size() + " TLVs, more than " + MAX_TLVS);
        }
        List<ProxyHeader.ProxyTlv> tlvs = new ArrayList<>(raw.size());
        for (HAProxyTLV tlv : raw) {
            int type = tlv.typeByteValue() & 0xFF;
            tlvs.add(new ProxyHeader.ProxyTlv(type, value(type, tlv.content())));
        }
        return new ProxyHeader(version, isLocal(msg), tlvs);
    }

    /** LOCAL, or v1's UNKNOWN: the balancer's own connection, whose real endpoints stand. */
    static boolean isLocal(HAProxyMessage msg) {
        return msg.command() == HAProxyCommand.LOCAL || msg.proxiedProtocol() == HAProxyProxiedProtocol.UNKNOWN;
    }

    /** The client's address as the balancer saw it; only TCP over IPv4 or IPv6 is relayed. */
    static InetSocketAddress source(HAProxyMessage msg) throws Unusable {
        return address(msg, msg.sourceAddress(), msg.sourcePort());
    }

    static InetSocketAddress destination(HAProxyMessage msg) throws Unusable {
        return address(msg, msg.destinationAddress(), msg.destinationPort());
    }

    private static InetSocketAddress address(HAProxyMessage msg, String ip, int port) throws Unusable {
        HAProxyProxiedProtocol protocol = msg.proxiedProtocol();
        if (protocol != HAProxyProxiedProtocol.TCP4 && protocol != HAProxyProxiedProtocol.TCP6) {
            throw new Unusable("proxied protocol " + protocol + " is not TCP over IP");
        }
        InetAddress address = ip == null ? null : NetUtil.createInetAddressFromIpAddressString(ip);
        if (address == null) {
            throw new Unusable("not an IP address: " + ip);
        }
        return new InetSocketAddress(address, port);
    }

    private static String value(int type, ByteBuf content) {
        int n = content.readableBytes();
        int at = content.readerIndex();
        switch (type) {
            case ProxyHeader.TYPE_AWS, ProxyHeader.TYPE_AZURE -> {
                // Subtype 0x01 then the id: AWS sends it as text, Azure as a 32-bit little-endian number.
                if (n >= 1 && content.getByte(at) == 0x01) {
                    if (type == ProxyHeader.TYPE_AZURE && n == 5) {
                        return Long.toString(content.getUnsignedIntLE(at + 1));
                    }
                    if (type == ProxyHeader.TYPE_AWS && printable(content, at + 1, n - 1)) {
                        return content.toString(at + 1, n - 1, java.nio.charset.StandardCharsets.US_ASCII);
                    }
                }
            }
            case ProxyHeader.TYPE_GCP -> {
                if (n == 8) {
                    return Long.toUnsignedString(content.getLong(at));
                }
            }
            default -> { }
        }
        if (n > 0 && printable(content, at, n)) {
            return content.toString(at, n, java.nio.charset.StandardCharsets.US_ASCII);
        }
        return "hex:" + ByteBufUtil.hexDump(content, at, n);
    }

    private static boolean printable(ByteBuf buf, int from, int length) {
        if (length == 0) {
            return false;
        }
        for (int i = from; i < from + length; i++) {
            byte b = buf.getByte(i);
            if (b < 0x20 || b > 0x7E) {
                return false;
            }
        }
        return true;
    }
}
