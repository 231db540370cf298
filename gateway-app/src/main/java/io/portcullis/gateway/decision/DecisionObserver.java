package io.portcullis.gateway.decision;

/** Told what decision services do, for meters. Any thread; must be cheap and must not block. */
public interface DecisionObserver {

    DecisionObserver NONE = new DecisionObserver() {
    };

    /** A service is configured: make its meters, so they show zero before the first call. */
    default void decisionServiceAdded(String service) {
    }

    /**
     * One decision ended with {@code outcome}; {@code nanos} is how long the call took, or -1 when no call
     * went out (cached, circuit open).
     */
    default void decided(String service, DecisionOutcome outcome, long nanos) {
    }

    /** A call in flight was cancelled because its client left or its deadline passed first. */
    default void decisionCancelled(String service) {
    }

    /** A service's cache has {@code scope: cluster}: make its look-up meters, so they show zero before the first. */
    default void clusterCacheAdded(String service) {
    }

    /** One look-up in the cluster's verdict cache, after a local miss, found {@code result}. */
    default void clusterCacheLooked(String service, ClusterCacheResult result) {
    }
}
