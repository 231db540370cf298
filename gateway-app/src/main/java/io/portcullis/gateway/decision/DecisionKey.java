package io.portcullis.gateway.decision;

import io.portcullis.core.InspectRequest;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * What a cached answer is for: the listener, the rule that asked, the client's address (not its port) and,
 * when the ClientHello had one, the SNI (lower case). Two connections with equal keys get the same answer.
 */
public record DecisionKey(String listener, String rule, InetAddress source, Optional<String> sni) {

    public DecisionKey {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(sni, "sni");
    }

    /** The key of {@code request} asked by {@code rule}. An IPv4-mapped IPv6 source counts as its IPv4 address. */
    public static DecisionKey of(InspectRequest request, String rule) {
        return new DecisionKey(request.listener(), rule, normalize(request.source().getAddress()),
                request.sni().map(s -> s.toLowerCase(Locale.ROOT)));
    }

    private static InetAddress normalize(InetAddress address) {
        if (address instanceof Inet6Address) {
            byte[] b = address.getAddress();
            boolean mapped = true;
            for (int i = 0; i < 10 && mapped; i++) {
                mapped = b[i] == 0;
            }
            if (mapped && b[10] == (byte) 0xff && b[11] == (byte) 0xff) {
                try {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return address;
    }
}
