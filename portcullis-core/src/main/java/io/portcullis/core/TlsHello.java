package io.portcullis.core;

import java.util.List;
import java.util.Optional;

/**
 * Placeholder until the parser lands.
 *
 * @param sni      server name
 * @param alpn     protocols offered
 * @param versions TLS versions offered
 * @param ja4      JA4 fingerprint
 */
public record TlsHello(Optional<String> sni, List<String> alpn, List<String> versions, String ja4) {
}
