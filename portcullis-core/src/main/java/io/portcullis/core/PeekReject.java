package io.portcullis.core;

/** Why a connection was reset while peeking, as {@code portcullis_peek_rejects_total{reason}} shows it. */
public enum PeekReject {
    /** A PROXY-protocol header from a peer not in {@code trusted}: a forged client address. */
    UNTRUSTED_HEADER,
    /** No PROXY-protocol header where one is required. */
    MISSING_HEADER,
    /** A PROXY-protocol header that does not parse, or names a protocol other than TCP. */
    MALFORMED_HEADER,
    /** The client did not start with a TLS ClientHello, on a listener that rejects those. */
    NOT_TLS,
    /** A TLS ClientHello that does not parse. */
    MALFORMED_HELLO,
    /** More than {@code max-bytes} read before the peek was over. */
    TOO_LARGE,
    /** The peek was not over by its deadline. */
    TIMEOUT;

    /**
     * The meter's and audit line's label.
     *
     * @return the name in lower case
     */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
