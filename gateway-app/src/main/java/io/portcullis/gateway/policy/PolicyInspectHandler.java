package io.portcullis.gateway.policy;

import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectHandler;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.Permit;
import io.portcullis.core.TlsHello;
import io.portcullis.core.Verdict;
import io.portcullis.gateway.decision.DecisionTrigger;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.model.InspectId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The policy-rules adapter: answers the listeners' inspections from {@code rules.yaml}. It evaluates the current
 * policy (in memory, lock-free), counts the verdict by deciding rule, and turns the policy's verdict into the
 * listener's: the action, the rule, the pend's deadline and decision service, and the limiter permits, which the
 * listener holds until the connection closes. A pend whose rule names a decision service starts that service's
 * call once the listener has pended it (asynchronous: the answer completes the inspection later). Runs on the
 * connection's event loop.
 */
public final class PolicyInspectHandler implements InspectHandler {

    /** Told the verdict of every inspection, for meters. Any thread; must not block. */
    @FunctionalInterface
    public interface VerdictCounter {
        /** The policy decided {@code action} for a connection of {@code listener} by {@code rule}. */
        void verdict(String listener, String rule, InspectAction action);
    }

    private final PolicyEngine engine;
    private final VerdictCounter counter;
    private final DecisionTrigger decisions;

    public PolicyInspectHandler(PolicyEngine engine, VerdictCounter counter) {
        this(engine, counter, DecisionTrigger.NONE);
    }

    public PolicyInspectHandler(PolicyEngine engine, VerdictCounter counter, DecisionTrigger decisions) {
        this.engine = engine;
        this.counter = counter;
        this.decisions = decisions;
    }

    @Override
    public Verdict verdict(InspectRequest request) {
        io.portcullis.policy.model.Verdict verdict = engine.evaluate(toPolicy(request));
        InspectAction action = toCore(verdict.action());
        counter.verdict(request.listener(), verdict.rule(), action);
        io.portcullis.policy.model.Permit permit = verdict.permit();
        return new Verdict(action, verdict.rule(), verdict.decision(), verdict.timeout(),
                permit == io.portcullis.policy.model.Permit.NONE ? Permit.NONE : permit::release, verdict.route());
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

    /** What the policy language sees of a connection: the same facts, in its own types. */
    static io.portcullis.policy.model.InspectRequest toPolicy(InspectRequest r) {
        Map<Integer, List<String>> tlvs = new LinkedHashMap<>();
        r.proxy().ifPresent(h -> h.tlvs().forEach(t -> tlvs.computeIfAbsent(t.type(), k -> new ArrayList<>()).add(t.value())));
        return new io.portcullis.policy.model.InspectRequest(new InspectId(r.id().value()), r.listener(), r.source(),
                r.destination(), r.receivedAt(), r.sni(), r.alpn(), r.peer(), tlvs, r.tls().map(TlsHello::ja4));
    }

    static InspectAction toCore(io.portcullis.policy.model.InspectAction action) {
        return switch (action) {
            case ACCEPT -> InspectAction.ACCEPT;
            case REJECT -> InspectAction.REJECT;
            case PEND -> InspectAction.PEND;
        };
    }
}
