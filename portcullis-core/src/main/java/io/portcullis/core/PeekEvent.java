package io.portcullis.core;

import java.util.Optional;

/** What the peek handlers tell the {@link InspectionHandler}, behind them in the pipeline. */
sealed interface PeekEvent {

    /** The first bytes are not a PROXY-protocol header, and none was required. */
    record NoProxyHeader() implements PeekEvent { }

    /** The ClientHello was read (or the client does not speak TLS and that is allowed). */
    record TlsPeeked(Optional<TlsHello> hello) implements PeekEvent { }

    /** The connection is to be reset. */
    record Rejected(PeekReject reason, String detail) implements PeekEvent { }

    PeekEvent NO_PROXY_HEADER = new NoProxyHeader();

    /** The client did not start with a ClientHello (the listener's on-not-tls decides). */
    PeekEvent NOT_TLS = new TlsPeeked(Optional.empty());
}
