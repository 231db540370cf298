package io.portcullis.core;

/** Names of Portcullis handlers in a channel pipeline, in one place. */
public final class PipelineNames {

    /** Bounds what is read while peeking, and decides whether a PROXY-protocol header comes first. */
    public static final String PEEK_GUARD = "portcullis-peek-guard";
    /** Netty's PROXY-protocol decoder, while a trusted peer's header is read. */
    public static final String PROXY_DECODER = "portcullis-proxy-decoder";
    /** Reads the TLS ClientHello without terminating TLS. */
    public static final String TLS_PEEK = "portcullis-tls-peek";
    /** Holds a connection from its arrival until it is accepted, rejected or aborted. */
    public static final String INSPECTION = "portcullis-inspection";
    /** On a listening channel: logs what accepting failed with, once per burst. */
    public static final String ACCEPT_ERRORS = "portcullis-accept-errors";
    /** Relays an accepted connection's bytes to its backend and back. */
    public static final String RELAY = "portcullis-relay";

    private PipelineNames() {
    }
}
