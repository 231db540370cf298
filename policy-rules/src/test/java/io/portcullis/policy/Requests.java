package io.portcullis.policy;

import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Requests for tests. */
public final class Requests {

    private static final InetSocketAddress DESTINATION = new InetSocketAddress(InetAddress.getLoopbackAddress(), 15432);

    private Requests() {
    }

    /** A request on {@code listener} from the literal address {@code source}. */
    public static InspectRequest from(String listener, String source) {
        return from(listener, address(source));
    }

    public static InspectRequest from(String listener, InetAddress source) {
        return InspectRequest.of(InspectId.next(), listener, new InetSocketAddress(source, 40000), DESTINATION,
                Instant.now());
    }

    /** A request from {@code source}:{@code sourcePort} to destination port {@code destinationPort}. */
    public static InspectRequest to(String listener, String source, int sourcePort, int destinationPort) {
        return InspectRequest.of(InspectId.next(), listener, new InetSocketAddress(address(source), sourcePort),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), destinationPort), Instant.now());
    }

    /** A request from {@code source} whose ClientHello carried {@code sni} (null: none) and {@code alpn}. */
    public static InspectRequest tls(String listener, String source, String sni, String... alpn) {
        return from(listener, source).withTls(Optional.ofNullable(sni), List.of(alpn));
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
