package io.portcullis.core;

/** Placeholder until the parser lands. */
final class MalformedClientHelloException extends RuntimeException {
    MalformedClientHelloException(String message) {
        super(message, null, false, false);
    }
}
