package io.portcullis.core;

/**
 * A ClientHello that does not parse: truncated, a length that overruns its container, a field outside what
 * the TLS specifications allow. Thrown by {@link ClientHelloParser} only.
 *
 * <p>Without a stack trace: a hostile client can send these at line rate, and the message says where.
 */
final class MalformedClientHelloException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    MalformedClientHelloException(String message) {
        super(message, null, false, false);
    }
}
