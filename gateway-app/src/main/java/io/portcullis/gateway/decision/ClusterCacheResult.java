package io.portcullis.gateway.decision;

import java.util.Locale;

/**
 * What one look-up in the cluster's verdict cache found (a {@code cache.scope: cluster} service, after a local
 * miss): the {@code result} tag of {@code portcullis_decision_cache_cluster_total}.
 */
public enum ClusterCacheResult {
    /** A valid answer another replica (or this one) learned: served, no call made. */
    HIT,
    /** No entry: the service is asked. */
    MISS,
    /** Redis did not answer in time, is not connected, or too many commands wait: the service is asked. */
    ERROR,
    /** An entry that is not a valid answer for the key (garbled, foreign, no TTL, an unknown pool): the service is asked. */
    INVALID;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
