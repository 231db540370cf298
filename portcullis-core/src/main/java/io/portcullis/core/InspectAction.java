package io.portcullis.core;

/**
 * What an inspection answers for one connection, after WSK's InspectAccept / InspectReject / InspectPend.
 */
public enum InspectAction {
    /** Take the connection: it is handed to the accept handler (by default relayed to a backend). */
    ACCEPT,
    /** Refuse it with a reset; the client gets no byte. */
    REJECT,
    /** Hold it, without a backend, until {@code inspectComplete}, the deadline or the client leaves. */
    PEND;

    /**
     * The lower-case name used in configuration, metrics and logs.
     *
     * @return {@code accept}, {@code reject} or {@code pend}
     */
    public String label() {
        return switch (this) {
            case ACCEPT -> "accept";
            case REJECT -> "reject";
            case PEND -> "pend";
        };
    }
}
