package io.portcullis.gateway.decision;

/** A decision service answered something that is not an answer: bad JSON, a missing or unknown action, a bad ttl. */
public final class MalformedAnswerException extends RuntimeException {

    public MalformedAnswerException(String message) {
        super(message, null, false, false);
    }
}
