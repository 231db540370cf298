package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;

import java.util.List;
import java.util.Objects;

/**
 * The {@code pp-authority} condition: the authority TLV (0x02) of a trusted balancer's PROXY v2 header,
 * the host name the client asked the balancer for. Entries mean what they mean for {@code sni} (see
 * {@link NamePattern}); {@code none} matches a connection without a header or without that TLV. When a
 * header repeats the TLV, the first one counts, as {@link InspectRequest#proxyAuthority()} says.
 * Evaluation allocates nothing.
 */
public final class ProxyAuthorityMatch implements Match {

    public static final String KEY = "pp-authority";

    private final NamePattern names;

    /** A condition on the authority TLV by {@code names}. */
    public ProxyAuthorityMatch(NamePattern names) {
        this.names = Objects.requireNonNull(names, "names");
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        // not proxyAuthority(): its Optional would be allocated per connection
        List<String> authority = request.proxyTlv(InspectRequest.TLV_AUTHORITY);
        return names.matches(authority.isEmpty() ? null : authority.get(0));
    }

    @Override
    public boolean needsProxyHeader() {
        return true;
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public String toString() {
        return "pp-authority[" + names + "]";
    }
}
