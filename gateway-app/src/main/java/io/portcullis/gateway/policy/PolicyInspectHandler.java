package io.portcullis.gateway.policy;

import io.portcullis.gateway.decision.DecisionTrigger;
import io.portcullis.gateway.listener.InspectHandler;
import io.portcullis.gateway.metrics.GatewayMeters;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

/**
 * Answers inspections from {@code rules.yaml}: evaluates the current policy (in memory, lock-free) and
 * counts the verdict by deciding rule. The verdict's permit and pend timeout go to the listener, which
 * holds the permit until the connection closes. A pend whose rule names a decision service starts that
 * service's call once the listener has pended it (asynchronous: the answer completes the inspection later).
 * Runs on the connection's event loop.
 */
public final class PolicyInspectHandler implements InspectHandler {

    private final PolicyEngine engine;
    private final GatewayMeters meters;
    private final DecisionTrigger decisions;

    public PolicyInspectHandler(PolicyEngine engine, GatewayMeters meters) {
        this(engine, meters, DecisionTrigger.NONE);
    }

    public PolicyInspectHandler(PolicyEngine engine, GatewayMeters meters, DecisionTrigger decisions) {
        this.engine = engine;
        this.meters = meters;
        this.decisions = decisions;
    }

    @Override
    public Verdict verdict(InspectRequest request) {
        Verdict verdict = engine.evaluate(request);
        meters.verdict(request.listener(), verdict.rule(), verdict.action());
        return verdict;
    }

    /** Asks the rule's decision service, once the pend holds a slot: an overflowed pend asks nobody. */
    @Override
    public void pended(InspectRequest request, Verdict verdict) {
        if (verdict.decision().isPresent()) {
            decisions.ask(request, verdict);
        }
    }

    /** For direct callers: nothing holds the connection's permit, so it is given back at once. */
    @Override
    public InspectAction inspect(InspectRequest request) {
        Verdict verdict = verdict(request);
        verdict.permit().release();
        return verdict.action();
    }
}
