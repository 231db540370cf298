package io.portcullis.core;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What is known about a connection when it is inspected: who calls, on which listener, and what was
 * peeked (SNI and ALPN from a TLS ClientHello, when the listener peeks). Immutable; any thread.
 *
 * @param id          identity of this inspection
 * @param listener    name of the listener the connection arrived on
 * @param source      the client's address and port
 * @param destination the address and port the client connected to
 * @param receivedAt  when the connection was accepted by the kernel and handed to the listener
 * @param sni         server name from the TLS ClientHello, empty when none was sent or not peeked
 * @param alpn        ALPN protocols offered in the ClientHello, in the client's order; empty when none
 */
public record InspectRequest(
        InspectId id,
        String listener,
        InetSocketAddress source,
        InetSocketAddress destination,
        Instant receivedAt,
        Optional<String> sni,
        List<String> alpn) {

    /**
     * Checks that nothing is null and copies {@code alpn}.
     *
     * @param id          identity of this inspection
     * @param listener    name of the listener
     * @param source      the client
     * @param destination the address the client connected to
     * @param receivedAt  when the connection arrived
     * @param sni         the TLS server name, if peeked
     * @param alpn        the ALPN protocols offered, if peeked
     */
    public InspectRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(receivedAt, "receivedAt");
        Objects.requireNonNull(sni, "sni");
        alpn = List.copyOf(alpn);
    }

    /**
     * A request with nothing peeked.
     *
     * @param id          identity of the inspection
     * @param listener    the listener's name
     * @param source      the client
     * @param destination the address the client connected to
     * @param receivedAt  when the connection arrived
     * @return the request, without SNI or ALPN
     */
    public static InspectRequest of(InspectId id, String listener, InetSocketAddress source,
                                    InetSocketAddress destination, Instant receivedAt) {
        return new InspectRequest(id, listener, source, destination, receivedAt, Optional.empty(), List.of());
    }

    /**
     * This request with what a TLS ClientHello said.
     *
     * @param sni  the server name sent, if any
     * @param alpn the protocols offered, in the client's order
     * @return a copy with {@code sni} and {@code alpn}
     */
    public InspectRequest withTls(Optional<String> sni, List<String> alpn) {
        return new InspectRequest(id, listener, source, destination, receivedAt, sni, alpn);
    }
}
