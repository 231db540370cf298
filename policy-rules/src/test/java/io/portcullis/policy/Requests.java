package io.portcullis.policy;

import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Instant;

/** Requests for tests. */
final class Requests {

    private static final InetSocketAddress DESTINATION = new InetSocketAddress(InetAddress.getLoopbackAddress(), 15432);

    private Requests() {
    }

    /** A request on {@code listener} from the literal address {@code source}. */
    static InspectRequest from(String listener, String source) {
        try {
            return from(listener, InetAddress.getByName(source)); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static InspectRequest from(String listener, InetAddress source) {
        return InspectRequest.of(InspectId.next(), listener, new InetSocketAddress(source, 40000), DESTINATION,
                Instant.now());
    }
}
