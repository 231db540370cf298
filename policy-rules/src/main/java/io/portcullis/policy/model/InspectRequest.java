package io.portcullis.policy.model;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What is known about a connection when it is inspected: who calls, on which listener, and what
 * was peeked (a trusted load balancer's PROXY-protocol header; SNI, ALPN and the JA4 fingerprint of a
 * TLS ClientHello, when the listener peeks).
 *
 * @param id          identity of this inspection
 * @param listener    name of the listener the connection arrived on
 * @param source      the client's address and port (after a trusted PROXY header, the original client's)
 * @param destination the address and port the client connected to (after a header, as the header says)
 * @param receivedAt  when the connection was accepted by the kernel and handed to Portcullis
 * @param sni         server name from the TLS ClientHello, empty when none was sent or not peeked
 * @param alpn        ALPN protocols offered in the ClientHello, in the client's order; empty when none
 * @param peer        the TCP peer: the load balancer when a header named the client, else {@code source}
 * @param proxyTlvs   the PROXY v2 header's TLVs by type (0 to 255), values decoded, in the header's order;
 *                    empty without a header
 * @param ja4         the ClientHello's JA4 fingerprint, empty when not peeked
 */
public record InspectRequest(
        InspectId id,
        String listener,
        InetSocketAddress source,
        InetSocketAddress destination,
        Instant receivedAt,
        Optional<String> sni,
        List<String> alpn,
        InetSocketAddress peer,
        Map<Integer, List<String>> proxyTlvs,
        Optional<String> ja4) {

    /** PP2_TYPE_AUTHORITY: the host name the client asked the balancer for. */
    public static final int TLV_AUTHORITY = 0x02;

    public InspectRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(receivedAt, "receivedAt");
        Objects.requireNonNull(sni, "sni");
        alpn = List.copyOf(alpn);
        Objects.requireNonNull(peer, "peer");
        Map<Integer, List<String>> tlvs = new LinkedHashMap<>();
        proxyTlvs.forEach((type, values) -> tlvs.put(type, List.copyOf(values)));
        proxyTlvs = java.util.Collections.unmodifiableMap(tlvs);
        Objects.requireNonNull(ja4, "ja4");
    }

    /** A request without a PROXY header or fingerprint: the TCP peer is the client. */
    public InspectRequest(InspectId id, String listener, InetSocketAddress source, InetSocketAddress destination,
                          Instant receivedAt, Optional<String> sni, List<String> alpn) {
        this(id, listener, source, destination, receivedAt, sni, alpn, source, Map.of(), Optional.empty());
    }

    /** A request with nothing peeked. */
    public static InspectRequest of(InspectId id, String listener, InetSocketAddress source,
                                    InetSocketAddress destination, Instant receivedAt) {
        return new InspectRequest(id, listener, source, destination, receivedAt, Optional.empty(), List.of());
    }

    /** This request with TLS ClientHello data added. */
    public InspectRequest withTls(Optional<String> sni, List<String> alpn) {
        return withTls(sni, alpn, ja4);
    }

    /** This request with TLS ClientHello data and its fingerprint added. */
    public InspectRequest withTls(Optional<String> sni, List<String> alpn, Optional<String> ja4) {
        return new InspectRequest(id, listener, source, destination, receivedAt, sni, alpn, peer, proxyTlvs, ja4);
    }

    /**
     * This request as a trusted balancer's PROXY header tells it: the header's client and destination, the
     * balancer as {@code peer}, and the header's TLVs.
     */
    public InspectRequest withProxy(InetSocketAddress client, InetSocketAddress clientDestination,
                                    Map<Integer, List<String>> tlvs) {
        return new InspectRequest(id, listener, client, clientDestination, receivedAt, sni, alpn, source, tlvs, ja4);
    }

    /** The values of the header's TLVs of {@code type}, empty when none. */
    public List<String> proxyTlv(int type) {
        return proxyTlvs.getOrDefault(type, List.of());
    }

    /** The balancer's authority TLV (the SNI the client sent it), if the header had one. */
    public Optional<String> proxyAuthority() {
        return proxyTlv(TLV_AUTHORITY).stream().findFirst();
    }
}
