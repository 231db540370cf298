package io.portcullis.policy.limit;

import java.util.Locale;

/**
 * What a {@code scope: cluster} limiter does for a connection when the cluster store does not answer (down, too
 * slow, overloaded): {@code on-store-failure:} of {@code rate-limit} and {@code concurrency-limit}.
 */
public enum OnStoreFailure {
    /** Count the connection in this replica's own state, as a {@code scope: local} limiter does (the default). */
    LOCAL,
    /** Let the connection pass the limiter, as if the store had admitted it. */
    ACCEPT,
    /** Reject the connection, saying that the cluster store was unavailable. */
    REJECT;

    /** As written in {@code rules.yaml}: {@code local}, {@code accept} or {@code reject}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
