package io.portcullis.core;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a trusted load balancer's PROXY-protocol header said besides the addresses (which become the
 * request's source and destination). Immutable; any thread.
 *
 * @param version 1 or 2
 * @param local   a v2 {@code LOCAL} header: the balancer speaks for itself (a health check), the addresses
 *                are the TCP peer's
 * @param tlvs    the v2 type-length-values, in the header's order; empty for v1
 */
public record ProxyHeader(int version, boolean local, List<ProxyTlv> tlvs) {

    /** PP2_TYPE_AUTHORITY: the host name the client asked the balancer for (its SNI). */
    public static final int TYPE_AUTHORITY = 0x02;
    /** PP2_TYPE_AWS: the AWS VPC endpoint id (subtype 0x01). */
    public static final int TYPE_AWS = 0xEA;
    /** PP2_TYPE_AZURE: the Azure Private Link id (subtype 0x01). */
    public static final int TYPE_AZURE = 0xEE;
    /** The GCP Private Service Connect id. */
    public static final int TYPE_GCP = 0xE0;

    /**
     * Checks the version and copies the list.
     *
     * @param version 1 or 2
     * @param local   whether it is a v2 LOCAL header
     * @param tlvs    its TLVs
     */
    public ProxyHeader {
        if (version != 1 && version != 2) {
            throw new IllegalArgumentException("PROXY protocol version must be 1 or 2: " + version);
        }
        tlvs = List.copyOf(tlvs);
    }

    /**
     * The first TLV of a type, decoded.
     *
     * @param type the TLV type, 0 to 255
     * @return its value as {@link ProxyTlv#value()}, if the header has one
     */
    public Optional<String> tlv(int type) {
        for (ProxyTlv tlv : tlvs) {
            if (tlv.type() == type) {
                return Optional.of(tlv.value());
            }
        }
        return Optional.empty();
    }

    /**
     * The host name the client asked the balancer for.
     *
     * @return the authority TLV, if sent
     */
    public Optional<String> authority() {
        return tlv(TYPE_AUTHORITY);
    }

    /**
     * One type-length-value of a v2 header.
     *
     * @param type  0 to 255
     * @param value decoded: the id for AWS (0xEA), Azure (0xEE) and GCP (0xE0) TLVs, the text of a
     *              printable ASCII value, else {@code hex:} and the value's bytes in lower-case hex
     */
    public record ProxyTlv(int type, String value) {

        /**
         * Checks the type's range.
         *
         * @param type  0 to 255
         * @param value the decoded value
         */
        public ProxyTlv {
            if (type < 0 || type > 255) {
                throw new IllegalArgumentException("TLV type must be 0 to 255: " + type);
            }
            Objects.requireNonNull(value, "value");
        }
    }
}
