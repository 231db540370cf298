package io.portcullis.gateway.decision;

/** What a failed decision ({@code on-failure:}) decides: an error status, a timeout, nonsense, an open circuit. */
public enum OnFailure {
    ACCEPT,
    REJECT,
    /** The last verdict the service gave for the same key, however old; reject when there is none. */
    STALE
}
