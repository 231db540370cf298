package io.portcullis.core;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What is known about a connection when it is inspected: who calls, on which listener, and what was
 * peeked (a trusted balancer's PROXY-protocol header, the TLS ClientHello). Immutable; any thread.
 *
 * @param id          identity of this inspection
 * @param listener    name of the listener the connection arrived on
 * @param source      the client: as a trusted PROXY-protocol header gave it, else the TCP peer
 * @param destination the address the client connected to: from the header too, else the local address
 * @param peer        the TCP peer (the load balancer when a header was read, else the same as {@code source})
 * @param receivedAt  when the connection was accepted by the kernel and handed to the listener
 * @param proxy       the PROXY-protocol header, when one was read
 * @param tls         the TLS ClientHello, when the listener peeks and the client sent one
 */
public record InspectRequest(
        InspectId id,
        String listener,
        InetSocketAddress source,
        InetSocketAddress destination,
        InetSocketAddress peer,
        Instant receivedAt,
        Optional<ProxyHeader> proxy,
        Optional<TlsHello> tls) {

    /**
     * Checks that nothing is null.
     *
     * @param id          identity of this inspection
     * @param listener    name of the listener
     * @param source      the client
     * @param destination the address the client connected to
     * @param peer        the TCP peer
     * @param receivedAt  when the connection arrived
     * @param proxy       the PROXY-protocol header, if read
     * @param tls         the ClientHello, if peeked
     */
    public InspectRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(receivedAt, "receivedAt");
        Objects.requireNonNull(proxy, "proxy");
        Objects.requireNonNull(tls, "tls");
    }

    /**
     * A request with nothing peeked: the TCP peer is the client.
     *
     * @param id          identity of the inspection
     * @param listener    the listener's name
     * @param source      the client
     * @param destination the address the client connected to
     * @param receivedAt  when the connection arrived
     * @return the request
     */
    public static InspectRequest of(InspectId id, String listener, InetSocketAddress source,
                                    InetSocketAddress destination, Instant receivedAt) {
        return new InspectRequest(id, listener, source, destination, source, receivedAt, Optional.empty(), Optional.empty());
    }

    /**
     * This request as a trusted balancer's header tells it.
     *
     * @param source      the client the header names
     * @param destination the address the header names
     * @param header      the rest of the header
     * @return a copy with the client's addresses; {@code peer} stays the balancer
     */
    public InspectRequest withProxy(InetSocketAddress source, InetSocketAddress destination, ProxyHeader header) {
        return new InspectRequest(id, listener, source, destination, peer, receivedAt, Optional.of(header), tls);
    }

    /**
     * This request with what a TLS ClientHello said.
     *
     * @param hello the ClientHello read
     * @return a copy with {@code tls}
     */
    public InspectRequest withTls(TlsHello hello) {
        return new InspectRequest(id, listener, source, destination, peer, receivedAt, proxy, Optional.of(hello));
    }

    /**
     * The server name of the ClientHello.
     *
     * @return the SNI, empty when none was sent or nothing was peeked
     */
    public Optional<String> sni() {
        return tls.flatMap(TlsHello::sni);
    }

    /**
     * The ALPN protocols of the ClientHello, in the client's order.
     *
     * @return the protocols, empty when none were offered or nothing was peeked
     */
    public List<String> alpn() {
        return tls.map(TlsHello::alpn).orElse(List.of());
    }

    /**
     * Whether the client's address came from a PROXY-protocol header.
     *
     * @return true when {@code source} is not the TCP peer's
     */
    public boolean proxied() {
        return proxy.isPresent() && !proxy.get().local();
    }
}
