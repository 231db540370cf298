package io.portcullis.gateway.cluster;

/**
 * The cluster's Redis did not answer a command: not connected, too many commands in flight, past the timeout, or an
 * error. Carries no stack trace: it is an expected outcome, counted and handled by {@code on-store-failure}.
 */
public final class StoreUnavailableException extends RuntimeException {

    private final ClusterStore.Failure failure;

    public StoreUnavailableException(ClusterStore.Failure failure, String message) {
        super(failure.tag() + ": " + message, null, false, false);
        this.failure = failure;
    }

    /** Why the command failed. */
    public ClusterStore.Failure failure() {
        return failure;
    }
}
