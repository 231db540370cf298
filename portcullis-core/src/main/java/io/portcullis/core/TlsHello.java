package io.portcullis.core;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a TLS ClientHello tells before any handshake: the name asked for, the application protocols and TLS
 * versions offered, and the client's JA4 fingerprint. Immutable; any thread.
 *
 * @param sni      the {@code host_name} of the {@code server_name} extension, lower-cased ASCII; empty when the
 *                 extension is absent or names no host
 * @param alpn     the protocols of the {@code application_layer_protocol_negotiation} extension, in the order the
 *                 client offered them (as ISO-8859-1 strings, one char per byte); empty when the extension is absent
 * @param versions the TLS versions offered, in the client's order: from the {@code supported_versions} extension
 *                 when present, else the hello's {@code legacy_version}; GREASE values removed; named as the JDK
 *                 names them ({@code "TLSv1.3"}, {@code "TLSv1.2"}, {@code "TLSv1.1"}, {@code "TLSv1"},
 *                 {@code "SSLv3"}), an unknown version as {@code "0x"} and four lower-case hex digits
 * @param ja4      the JA4 fingerprint of the hello (FoxIO's specification, TLS over TCP), such as
 *                 {@code t13d1516h2_8daaf6152771_e5627efa2ab1}
 */
public record TlsHello(Optional<String> sni, List<String> alpn, List<String> versions, String ja4) {

    /**
     * Copies the lists, so the record stays immutable.
     *
     * @param sni      the requested host name, lower-cased, or empty
     * @param alpn     the offered application protocols, in order
     * @param versions the offered TLS versions, in order
     * @param ja4      the JA4 fingerprint
     * @throws NullPointerException when an argument or a list element is null
     */
    public TlsHello {
        Objects.requireNonNull(sni, "sni");
        alpn = List.copyOf(alpn);
        versions = List.copyOf(versions);
        Objects.requireNonNull(ja4, "ja4");
    }
}
