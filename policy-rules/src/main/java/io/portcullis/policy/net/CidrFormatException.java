package io.portcullis.policy.net;

/**
 * An address or CIDR text that is not valid. The message says what is wrong and, where there is
 * an obvious fix, what was probably meant; it does not repeat a file position (the caller adds it).
 */
public final class CidrFormatException extends Exception {

    private static final long serialVersionUID = 1L;

    public CidrFormatException(String message) {
        super(message);
    }
}
