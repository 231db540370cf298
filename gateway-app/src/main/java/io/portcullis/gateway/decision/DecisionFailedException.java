package io.portcullis.gateway.decision;

/**
 * A call to a decision service that did not bring an answer for a reason of its own: an error status, an
 * answer past the size bound, no answer within the time allowed. Without a stack trace: it is expected,
 * counted and logged by what it says.
 */
public final class DecisionFailedException extends RuntimeException {

    public DecisionFailedException(String message) {
        super(message, null, false, false);
    }
}
