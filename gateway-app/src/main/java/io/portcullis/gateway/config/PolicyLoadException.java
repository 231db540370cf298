package io.portcullis.gateway.config;

/** The policy file could not be read or did not validate; the message lists every error with file:line:column. */
public class PolicyLoadException extends RuntimeException {

    public PolicyLoadException(String message, Throwable cause) {
        super(message, cause);
    }

    public PolicyLoadException(String message) {
        super(message);
    }
}
