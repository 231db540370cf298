package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code pp-tlv} condition: a trusted balancer's PROXY v2 header carries a TLV of a given type with
 * one of the listed values ({@code pp-tlv: {type: 0xEA, values: [vpce-0123abcd]}}). Values are compared
 * exactly with the decoded TLV values of {@link InspectRequest#proxyTlvs()}. Several types may be given
 * (a list of such mappings): then each must hold. A connection without a header matches none.
 * Evaluation allocates nothing.
 */
public final class ProxyTlvMatch implements Match {

    public static final String KEY = "pp-tlv";

    /**
     * One TLV condition: a TLV of {@code type} has one of {@code values}.
     *
     * @param type   the TLV type, 0 to 255
     * @param values the values that match (decoded as in {@link InspectRequest#proxyTlvs()})
     */
    public record Tlv(int type, Set<String> values) {

        public Tlv {
            if (type < 0 || type > 255) {
                throw new IllegalArgumentException("TLV type out of range: " + type);
            }
            values = Set.copyOf(values);
            if (values.isEmpty()) {
                throw new IllegalArgumentException("no values for TLV type " + type);
            }
        }
    }

    private final Tlv[] tlvs;
    /** The types boxed once: a lookup with a type above 127 would otherwise box one per connection. */
    private final Integer[] types;

    /** A condition that holds when every one of {@code tlvs} does. */
    public ProxyTlvMatch(List<Tlv> tlvs) {
        if (tlvs.isEmpty()) {
            throw new IllegalArgumentException("no TLV conditions");
        }
        this.tlvs = tlvs.toArray(new Tlv[0]);
        this.types = tlvs.stream().map(tlv -> Integer.valueOf(tlv.type())).toArray(Integer[]::new);
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        for (int i = 0; i < tlvs.length; i++) {
            List<String> present = request.proxyTlvs().get(types[i]);
            if (present == null || !anyOf(present, tlvs[i].values())) {
                return false;
            }
        }
        return true;
    }

    private static boolean anyOf(List<String> present, Set<String> wanted) {
        for (int i = 0, n = present.size(); i < n; i++) {
            if (wanted.contains(present.get(i))) {
                return true;
            }
        }
        return false;
    }

    /** The TLV conditions, in the order written. */
    public List<Tlv> tlvs() {
        return List.of(tlvs);
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
        StringBuilder text = new StringBuilder("pp-tlv[");
        for (Tlv tlv : tlvs) {
            text.append(String.format("0x%02X", tlv.type())).append('=').append(tlv.values().size()).append(' ');
        }
        return text.toString().strip() + "]";
    }
}
