package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;

import java.util.List;
import java.util.Set;

/**
 * The {@code alpn} condition: the client offered at least one of the listed ALPN protocols in its
 * TLS ClientHello ({@code alpn: [h2, http/1.1]}). Protocol ids are compared exactly (RFC 7301 ids are
 * byte strings, so case counts). {@code none} matches a connection that offered no protocol.
 * Evaluation allocates nothing.
 */
public final class AlpnMatch implements Match {

    public static final String KEY = "alpn";

    /** The entry that matches "no protocol offered". */
    public static final String NONE = "none";

    private final Set<String> protocols;
    private final boolean none;

    public AlpnMatch(Set<String> protocols, boolean none) {
        this.protocols = Set.copyOf(protocols);
        this.none = none;
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        List<String> offered = request.alpn();
        int count = offered.size();
        if (count == 0) {
            return none;
        }
        for (int i = 0; i < count; i++) {
            if (protocols.contains(offered.get(i))) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean needsTlsPeek() {
        return true;
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public String toString() {
        return "alpn" + protocols + (none ? "+none" : "");
    }
}
