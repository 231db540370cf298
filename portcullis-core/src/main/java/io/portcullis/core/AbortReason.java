package io.portcullis.core;

/** Why a pended inspection ended without a completion. */
public enum AbortReason {
    /** The client closed (FIN, including a half-close) or reset while its inspection was pended. */
    CLIENT_CLOSED,
    /** The listener's {@code inspect.timeout} passed; its {@code on-timeout} action was applied. */
    TIMEOUT,
    /** The listener was shut down while the inspection was pended; its {@code on-timeout} action was applied. */
    LISTENER_CLOSED
}
