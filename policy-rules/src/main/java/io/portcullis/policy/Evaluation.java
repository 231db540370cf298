package io.portcullis.policy;

import io.portcullis.policy.model.Verdict;

import java.util.Objects;

/**
 * What a stepwise evaluation ({@link ListenerPolicy#evaluateStepwise}) gives: the connection is
 * {@link Decided decided}, or the evaluation waits at a {@code scope: cluster} limiter for the cluster store's
 * answer, a {@link ClusterStep} to be resumed with it.
 */
public sealed interface Evaluation permits Evaluation.Decided, ClusterStep {

    /**
     * The evaluation ended with {@code verdict}, as {@link ListenerPolicy#evaluate} ends: its permit, if any, is the
     * caller's to release when the connection ends.
     */
    record Decided(Verdict verdict) implements Evaluation {

        public Decided {
            Objects.requireNonNull(verdict, "verdict");
        }
    }
}
