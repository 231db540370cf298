package io.portcullis.gateway.decision;

/** Where a decision service's answers are cached ({@code cache.scope:}). */
public enum CacheScope {
    /** In this replica only. */
    LOCAL,
    /**
     * In this replica and in the cluster's Redis: an answer one replica learned is served by every replica for
     * its TTL. Needs {@code portcullis.cluster.redis.url}.
     */
    CLUSTER
}
