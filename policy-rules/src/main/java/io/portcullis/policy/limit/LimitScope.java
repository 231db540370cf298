package io.portcullis.policy.limit;

import java.util.Locale;

/**
 * Where a limiter's state lives ({@code scope:} of {@code rate-limit} and {@code concurrency-limit}): in this
 * process ({@code local}, the default), or shared by every replica of the gateway through a store
 * ({@code cluster}). The policy language only carries the scope; a gateway with a store evaluates cluster-scope
 * limiters stepwise ({@code ListenerPolicy.evaluateStepwise}) and asks the store, everything else counts them locally.
 */
public enum LimitScope {
    /** This process's own buckets and counters. */
    LOCAL,
    /** Buckets and leases shared by the replicas through the cluster store. */
    CLUSTER;

    /** As written in {@code rules.yaml}: {@code local} or {@code cluster}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
