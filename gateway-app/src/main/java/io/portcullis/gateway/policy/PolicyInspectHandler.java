package io.portcullis.gateway.policy;

import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectHandler;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.Permit;
import io.portcullis.core.TlsHello;
import io.portcullis.core.Verdict;
import io.portcullis.gateway.cluster.ClusterLimits;
import io.portcullis.gateway.decision.Completer;
import io.portcullis.gateway.decision.DecisionTrigger;
import io.portcullis.policy.ClusterStep;
import io.portcullis.policy.Evaluation;
import io.portcullis.policy.ListenerPolicy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.limit.OnStoreFailure;
import io.portcullis.policy.model.InspectId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The policy-rules adapter: answers the listeners' inspections from {@code rules.yaml}. It evaluates the current
 * policy (in memory, lock-free), counts the verdict by deciding rule, and turns the policy's verdict into the
 * listener's: the action, the rule, the pend's deadline and decision service, and the limiter permits, which the
 * listener holds until the connection closes. A pend whose rule names a decision service starts that service's
 * call once the listener has pended it (asynchronous: the answer completes the inspection later). Runs on the
 * connection's event loop.
 *
 * <p>With a {@link ClusterLimits} (a cluster store is configured), the rules of a listener with {@code scope: cluster}
 * limiters are evaluated stepwise: a connection that reaches an enforcing one is pended on that limiter's rule (no
 * decision service; the deadline leaves room for the store and for the waits after it), the store is asked once the
 * pend took effect, and its answer resumes the evaluation on the store's thread. The final verdict completes the
 * inspection ({@code decidedBy} {@value ClusterLimiting#DECIDED_BY}; a fallback after a store failure), asks a later
 * pend rule's decision service, or leaves a later pend without one to the operator. The verdict counter counts the
 * final verdict only; a connection that leaves before it, or is refused a pending slot, counts none. Without a
 * {@code ClusterLimits} the policy's {@code scope: cluster} limiters count locally (the gateway refuses such a policy
 * when no store is configured). Listeners without cluster limiters are evaluated as before, at once.
 */
public final class PolicyInspectHandler implements InspectHandler {

    /** Told the verdict of every inspection, for meters. Any thread; must not block. */
    @FunctionalInterface
    public interface VerdictCounter {
        /** The policy decided {@code action} for a connection of {@code listener} by {@code rule}. */
        void verdict(String listener, String rule, InspectAction action);
    }

    /** Told what the {@code scope: cluster} limiters do, for meters. Any thread; must not block. */
    public interface ClusterObserver {

        /** Observes nothing. */
        ClusterObserver NONE = new ClusterObserver() {
        };

        /**
         * The store failed for a connection at {@code rule}'s cluster limiter, and {@code fallback} (its
         * {@code on-store-failure}) decided instead.
         */
        default void clusterFallback(String listener, String rule, OnStoreFailure fallback) {
        }

        /**
         * A connection of {@code listener} that waited on the store is through with it: {@code nanos} from the first
         * store call to the last answer (every cluster limiter it met; failures and timeouts included).
         */
        default void clusterLimitWaited(String listener, long nanos) {
        }
    }

    private final PolicyEngine engine;
    private final VerdictCounter counter;
    private final DecisionTrigger decisions;
    /** Null without a cluster store: then every evaluation is the plain one. */
    private final ClusterLimiting cluster;

    public PolicyInspectHandler(PolicyEngine engine, VerdictCounter counter) {
        this(engine, counter, DecisionTrigger.NONE);
    }

    public PolicyInspectHandler(PolicyEngine engine, VerdictCounter counter, DecisionTrigger decisions) {
        this(engine, counter, decisions, Optional.empty(), Duration.ofMillis(100), ClusterObserver.NONE);
    }

    /**
     * @param clusterLimits   the state of {@code scope: cluster} limiters shared by the replicas; empty when no cluster
     *                        store is configured (they then count locally)
     * @param storeTimeout    the store's timeout per call ({@code portcullis.cluster.redis.timeout}), for the deadline
     *                        of connections pended while it is asked
     * @param clusterObserver meters of the cluster limiters
     */
    public PolicyInspectHandler(PolicyEngine engine, VerdictCounter counter, DecisionTrigger decisions,
                                Optional<ClusterLimits> clusterLimits, Duration storeTimeout,
                                ClusterObserver clusterObserver) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.counter = Objects.requireNonNull(counter, "counter");
        this.decisions = Objects.requireNonNull(decisions, "decisions");
        this.cluster = clusterLimits.map(limits -> new ClusterLimiting(limits, storeTimeout, counter, decisions,
                clusterObserver)).orElse(null);
    }

    /**
     * Where the final verdicts of connections pended for the cluster store go (the gateway); also what tells a
     * listener's inspect timeout. Set once, before the listeners start. Any thread.
     */
    public void completeThrough(Completer completer) {
        if (cluster != null) {
            cluster.completeThrough(completer);
        }
    }

    @Override
    public Verdict verdict(InspectRequest request) {
        if (cluster == null) {
            return counted(request, engine.evaluate(toPolicy(request)));
        }
        // One snapshot for every step of this connection's evaluation.
        ListenerPolicy policy = engine.listenerPolicy(request.listener());
        io.portcullis.policy.model.InspectRequest policyRequest = toPolicy(request);
        if (!policy.hasClusterLimiters()) {
            return counted(request, policy.evaluate(policyRequest, engine.shadowObserver()));
        }
        Evaluation evaluation = policy.evaluateStepwise(policyRequest, engine.shadowObserver());
        if (evaluation instanceof ClusterStep step) {
            return cluster.suspend(request, step);
        }
        return counted(request, ((Evaluation.Decided) evaluation).verdict());
    }

    private Verdict counted(InspectRequest request, io.portcullis.policy.model.Verdict verdict) {
        InspectAction action = toCore(verdict.action());
        counter.verdict(request.listener(), verdict.rule(), action);
        io.portcullis.policy.model.Permit permit = verdict.permit();
        return new Verdict(action, verdict.rule(), verdict.decision(), verdict.timeout(),
                permit == io.portcullis.policy.model.Permit.NONE ? Permit.NONE : permit::release, verdict.route());
    }

    /**
     * Asks the rule's decision service, or the cluster store for a connection pended at a cluster limiter, once the
     * pend holds a slot: an overflowed pend asks nobody. (A pend refused a slot needs nothing released here: what a
     * cluster pend holds is its verdict's permit, which the listener releases when the connection closes, and no
     * store call was made for it.)
     */
    @Override
    public void pended(InspectRequest request, Verdict verdict) {
        if (cluster != null && verdict.permit() instanceof ClusterWait wait) {
            cluster.start(wait);
        } else if (verdict.decision().isPresent()) {
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
