package io.portcullis.gateway.decision;

import io.portcullis.core.InspectRequest;
import java.util.Optional;
import reactor.core.publisher.BaseSubscriber;

/**
 * One call in flight: subscribes to the service's answer and hands it (or its failure) back to
 * {@link DecisionServices}, unless the call was cancelled first. Whoever removes it from the in-flight map
 * (the answer or the abort) decides what happens; the other does nothing.
 */
final class DecisionCall extends BaseSubscriber<Decision> {

    final DecisionServices owner;
    final DecisionService service;
    final InspectRequest request;
    final DecisionKey key;
    /** The pend verdict's route: where an acceptance goes when the answer names no pool. */
    final Optional<String> route;
    /** When the service was asked (after a look-up in the cluster's cache, if any): for the duration meter. */
    volatile long startNanos;

    DecisionCall(DecisionServices owner, DecisionService service, InspectRequest request, DecisionKey key,
                 Optional<String> route) {
        this.owner = owner;
        this.service = service;
        this.request = request;
        this.key = key;
        this.route = route;
        this.startNanos = System.nanoTime();
    }

    @Override
    protected void hookOnNext(Decision decision) {
        if (owner.finish(this)) {
            owner.answered(this, decision);
        }
    }

    @Override
    protected void hookOnError(Throwable error) {
        if (owner.finish(this)) {
            owner.failed(this, error);
        }
    }

    @Override
    protected void hookOnComplete() {
        // After an answer the call is already finished; an empty completion is a failure.
        if (owner.finish(this)) {
            owner.failed(this, new DecisionFailedException("no answer"));
        }
    }
}
