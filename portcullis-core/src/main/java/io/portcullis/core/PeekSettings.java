package io.portcullis.core;

import io.netty.handler.ipfilter.IpFilterRuleType;
import io.netty.handler.ipfilter.IpSubnetFilterRule;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a listener reads before it inspects a connection: a PROXY-protocol header from a trusted load
 * balancer, a TLS ClientHello, or both, within {@code timeout} and {@code maxBytes}. Immutable.
 *
 * @param proxyProtocol whether a PROXY-protocol header (v1 or v2) may or must come first
 * @param trusted       the peers allowed to send one, as addresses or CIDRs ({@code 10.0.0.0/8}); a header
 *                      from any other peer resets the connection
 * @param onLocal       what a v2 {@code LOCAL} header (the balancer's own health check) leads to
 * @param tls           whether the TLS ClientHello is read (SNI, ALPN, versions, JA4) and replayed unchanged
 * @param onNotTls      with {@code tls}: what a client that does not start with a ClientHello leads to
 * @param timeout       the whole peek must be over by then, or the connection is reset
 * @param maxBytes      bytes read at most while peeking (header and ClientHello together); past it, reset
 */
public record PeekSettings(ProxyProtocol proxyProtocol, List<String> trusted, OnLocal onLocal, boolean tls,
                           OnNotTls onNotTls, Duration timeout, int maxBytes) {

    /** Whether a PROXY-protocol header is read. */
    public enum ProxyProtocol {
        /** Never: the first bytes are the client's. */
        OFF,
        /** A trusted peer may send one; without it the TCP peer is the client. */
        OPTIONAL,
        /** Every connection must start with one from a trusted peer. */
        REQUIRED
    }

    /** What a v2 {@code LOCAL} header leads to: the balancer speaks for itself, not for a client. */
    public enum OnLocal {
        /** Inspected as a connection of the balancer itself (its own address is the source). */
        RELAY,
        /** Closed at once, without inspection. */
        CLOSE
    }

    /** What a client that does not start with a TLS ClientHello leads to on a TLS-peeking listener. */
    public enum OnNotTls {
        /** Reset, counted. */
        REJECT,
        /** Inspected without SNI or ALPN. */
        CONTINUE
    }

    /** Nothing is peeked. */
    public static final PeekSettings NONE = new PeekSettings(ProxyProtocol.OFF, List.of(), OnLocal.RELAY, false,
            OnNotTls.REJECT, Duration.ofSeconds(2), 16 * 1024);

    /** The peek deadline unless set. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
    /** Bytes read while peeking unless set. */
    public static final int DEFAULT_MAX_BYTES = 16 * 1024;
    /** The least {@code maxBytes}: a v1 header is up to 107 bytes, a ClientHello rarely under 200. */
    public static final int MIN_MAX_BYTES = 256;
    /** The most {@code maxBytes}: a v2 header's length field ends at 64 KiB. */
    public static final int MAX_MAX_BYTES = 16 + 65_535;

    /**
     * Checks every setting.
     *
     * @param proxyProtocol off, optional or required
     * @param trusted       addresses or CIDRs; at least one unless {@code proxyProtocol} is OFF
     * @param onLocal       relay or close
     * @param tls           whether the ClientHello is read
     * @param onNotTls      reject or continue
     * @param timeout       positive
     * @param maxBytes      from {@link #MIN_MAX_BYTES} to {@link #MAX_MAX_BYTES}
     * @throws IllegalArgumentException naming the setting out of range
     */
    public PeekSettings {
        Objects.requireNonNull(proxyProtocol, "proxyProtocol");
        Objects.requireNonNull(onLocal, "onLocal");
        Objects.requireNonNull(onNotTls, "onNotTls");
        Objects.requireNonNull(timeout, "timeout");
        trusted = List.copyOf(trusted);
        if (proxyProtocol != ProxyProtocol.OFF && trusted.isEmpty()) {
            throw new IllegalArgumentException("proxy-protocol.trusted must name the load balancers allowed to send "
                    + "a header (addresses or CIDRs) when proxy-protocol.accept is " + proxyProtocol.name().toLowerCase());
        }
        for (String cidr : trusted) {
            rule(cidr);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("peek.timeout must be positive: " + timeout);
        }
        if (maxBytes < MIN_MAX_BYTES || maxBytes > MAX_MAX_BYTES) {
            throw new IllegalArgumentException("peek.max-bytes must be from " + MIN_MAX_BYTES + " to " + MAX_MAX_BYTES
                    + ": " + maxBytes);
        }
    }

    /**
     * Whether anything is read before inspection.
     *
     * @return true when a PROXY header or a ClientHello is peeked
     */
    public boolean peeks() {
        return proxyProtocol != ProxyProtocol.OFF || tls;
    }

    /** The trusted peers as match rules; built once per listener. */
    List<IpSubnetFilterRule> trustRules() {
        List<IpSubnetFilterRule> rules = new ArrayList<>(trusted.size());
        for (String cidr : trusted) {
            rules.add(rule(cidr));
        }
        return List.copyOf(rules);
    }

    static boolean trusts(List<IpSubnetFilterRule> rules, InetSocketAddress peer) {
        for (IpSubnetFilterRule rule : rules) {
            if (rule.matches(peer)) {
                return true;
            }
        }
        return false;
    }

    private static IpSubnetFilterRule rule(String cidr) {
        Objects.requireNonNull(cidr, "trusted entry");
        String text = cidr.strip();
        int slash = text.indexOf('/');
        String ip = slash < 0 ? text : text.substring(0, slash);
        // Literals only: a host name here would be a DNS lookup at start and a trust decision on its answer.
        if (ip.isEmpty() || !(ip.indexOf(':') >= 0 || ip.chars().allMatch(c -> c == '.' || Character.isDigit(c)))) {
            throw new IllegalArgumentException("proxy-protocol.trusted: not an IP address or CIDR: '" + cidr + "'");
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(ip);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("proxy-protocol.trusted: not an IP address or CIDR: '" + cidr + "'");
        }
        int max = address.getAddress().length * 8;
        int prefix;
        if (slash < 0) {
            prefix = max;
        } else {
            String bits = text.substring(slash + 1);
            if (bits.isEmpty() || bits.length() > 3 || !bits.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("proxy-protocol.trusted: bad prefix length in '" + cidr + "'");
            }
            prefix = Integer.parseInt(bits);
            if (prefix > max) {
                throw new IllegalArgumentException("proxy-protocol.trusted: prefix length past " + max + " in '" + cidr + "'");
            }
        }
        return new IpSubnetFilterRule(address, prefix, IpFilterRuleType.ACCEPT);
    }
}
