package io.portcullis.policy;

import io.portcullis.policy.limit.Admission;
import io.portcullis.policy.limit.ConcurrencyPermit;
import io.portcullis.policy.limit.Limiter;
import io.portcullis.policy.limit.Permits;
import io.portcullis.policy.net.CidrSet;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Permit;
import io.portcullis.policy.model.Verdict;
import io.portcullis.policy.rule.Rule;
import io.portcullis.policy.rule.SourceMatch;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The compiled rules of one listener, evaluated in order:
 *
 * <ol>
 *   <li>a rule whose conditions do not all hold is skipped;</li>
 *   <li>a deciding rule ({@code action}) ends evaluation with its verdict;</li>
 *   <li>a limiter rule rejects the connection past its bound, else passes it on to the next rule
 *       (a {@code concurrency-limit} keeps the slot it took in the verdict's {@link Verdict#permit()});</li>
 *   <li>a shadow rule reports what it would do to the {@link ShadowObserver} and passes the connection on;</li>
 *   <li>when no rule decided, the listener's {@code default} does, with rule name {@value Verdict#DEFAULT_RULE}.</li>
 * </ol>
 * Slots taken by limiters are released before returning a {@code reject} verdict, so only accepted and
 * pended connections come back with a permit — which the caller must release when the connection ends.
 *
 * <p>Limiters with {@code scope: cluster} share their state with the other replicas through a store that
 * answers asynchronously. {@link #evaluate} counts them locally, in the state a {@code scope: local} limiter of the
 * same rule uses (for {@code validate}, and for embedders without a store); {@link #evaluateStepwise} stops at each
 * enforcing one whose conditions hold and hands the caller a {@link ClusterStep} to resume with the store's
 * answer. Shadow cluster limiters count locally in both: a shadow rule never waits on the store.
 *
 * <p>Immutable and thread-safe. {@link #evaluate} runs on the event loop: it does not block, take locks
 * or throw. Without limiter rules it allocates nothing but the source address bytes
 * ({@link InetAddress#getAddress()}); limiters allocate a key per connection and their permits.
 */
public final class ListenerPolicy {

    private final String listener;
    private final Rule[] rules;
    /** Per rule, its limiter or null: read on the hot path without going through Optional. */
    private final Limiter[] limiters;
    private final boolean[] shadow;
    private final Verdict defaultVerdict;
    private final List<String> ruleNames;
    /** Per rule: an enforcing limiter with {@code scope: cluster}, at which {@link #evaluateStepwise} stops. */
    private final boolean[] cluster;
    private final boolean hasClusterLimiters;
    /** Per cluster rule: its verdict when the store refuses, and when the store fails with on-store-failure: reject. */
    private final Verdict[] clusterRefusals;
    private final Verdict[] storeUnavailable;
    /** Per rule: enforcing cluster limiters at it or after it. */
    private final int[] clusterLimitersFrom;
    /** Per rule: the longest timeout of the enforcing pend rules after it, or null. */
    private final Duration[] pendTimeoutAfter;

    /**
     * @param listener      the listener's name, as in {@code application.yml}
     * @param rules         in evaluation order; names must be unique
     * @param defaultAction what to do when no rule decides
     */
    public ListenerPolicy(String listener, List<Rule> rules, InspectAction defaultAction) {
        this(listener, rules, new Verdict(defaultAction, Verdict.DEFAULT_RULE));
    }

    /** A listener whose every connection gets {@code defaultVerdict} (also when {@code rules} decide none). */
    ListenerPolicy(String listener, List<Rule> rules, Verdict defaultVerdict) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.rules = rules.toArray(new Rule[0]);
        this.defaultVerdict = Objects.requireNonNull(defaultVerdict, "defaultVerdict");
        this.limiters = new Limiter[this.rules.length];
        this.shadow = new boolean[this.rules.length];
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < this.rules.length; i++) {
            Rule rule = this.rules[i];
            if (!seen.add(rule.name())) {
                throw new IllegalArgumentException("duplicate rule name '" + rule.name() + "' in listener '" + listener + "'");
            }
            limiters[i] = rule.limiter().orElse(null);
            shadow[i] = rule.isShadow();
        }
        this.ruleNames = Arrays.stream(this.rules).map(Rule::name).toList();
        this.cluster = new boolean[this.rules.length];
        this.clusterRefusals = new Verdict[this.rules.length];
        this.storeUnavailable = new Verdict[this.rules.length];
        this.clusterLimitersFrom = new int[this.rules.length + 1];
        this.pendTimeoutAfter = new Duration[this.rules.length];
        boolean any = false;
        for (int i = 0; i < this.rules.length; i++) {
            Limiter limiter = limiters[i];
            if (limiter != null && !shadow[i] && limiter.settings().isCluster()) {
                cluster[i] = true;
                any = true;
                Verdict refusal = limiter.refusal();
                clusterRefusals[i] = refusal.withReason(refusal.reason().orElse(limiter.settings().ruleKey())
                        + " across the cluster");
                storeUnavailable[i] = new Verdict(InspectAction.REJECT, this.rules[i].name()).withReason(
                        "cluster store unavailable: " + limiter.settings().ruleKey() + " not checked (on-store-failure: "
                                + limiter.settings().onStoreFailure().label() + ")");
            }
        }
        this.hasClusterLimiters = any;
        Duration longest = null;
        for (int i = this.rules.length - 1; i >= 0; i--) {
            clusterLimitersFrom[i] = clusterLimitersFrom[i + 1] + (cluster[i] ? 1 : 0);
            pendTimeoutAfter[i] = longest;
            Rule rule = this.rules[i];
            if (!shadow[i] && limiters[i] == null && rule.action() == InspectAction.PEND) {
                Optional<Duration> timeout = rule.verdict().timeout();
                if (timeout.isPresent() && (longest == null || timeout.get().compareTo(longest) > 0)) {
                    longest = timeout.get();
                }
            }
        }
    }

    /** The listener's name. */
    public String listener() {
        return listener;
    }

    /**
     * The verdict for a connection, ignoring what shadow rules would do. Any thread.
     *
     * @see #evaluate(InspectRequest, ShadowObserver)
     */
    public Verdict evaluate(InspectRequest request) {
        return evaluate(request, ShadowObserver.NONE);
    }

    /**
     * The verdict for a connection; shadow rules that match report to {@code observer}. Any thread.
     * A connection whose source address is unresolved matches no rule that has a source condition.
     * The caller must {@linkplain Permit#release() release} the verdict's permit when the connection ends.
     * Limiters with {@code scope: cluster} count locally here, in the state a {@code scope: local} limiter of the
     * same rule would use: this is the evaluation of {@code validate} and of embedders without a cluster store
     * (see {@link #evaluateStepwise} for the one that asks the store).
     */
    public Verdict evaluate(InspectRequest request, ShadowObserver observer) {
        InetAddress address = request.source().getAddress();
        byte[] sourceAddress = address == null ? null : address.getAddress();
        return (Verdict) run(0, request, sourceAddress, observer, Permit.NONE, false);
    }

    /**
     * As {@link #evaluate(InspectRequest, ShadowObserver)}, but stopping at the first enforcing {@code scope: cluster}
     * limiter whose conditions hold: a {@link ClusterStep} to resume with the cluster store's answer, or the
     * connection {@link Evaluation.Decided decided} without one. Rules before the step have done what they do (taken
     * tokens and slots, reported shadow verdicts); shadow cluster limiters count locally and never stop it. For a
     * listener without cluster limiters ({@link #hasClusterLimiters()}) the verdict is {@link #evaluate}'s; callers
     * that care for the allocation call that one then. Any thread; does not block.
     */
    public Evaluation evaluateStepwise(InspectRequest request, ShadowObserver observer) {
        InetAddress address = request.source().getAddress();
        byte[] sourceAddress = address == null ? null : address.getAddress();
        return evaluation(run(0, request, sourceAddress, observer, Permit.NONE, true));
    }

    /**
     * The rules from {@code from} on: a {@link Verdict}, or (only when {@code stepwise}) the {@link ClusterStep} of
     * an enforcing cluster limiter. One loop serves both, so they cannot drift apart.
     */
    private Object run(int from, InspectRequest request, byte[] sourceAddress, ShadowObserver observer, Permit held,
                       boolean stepwise) {
        for (int i = from; i < rules.length; i++) {
            Rule rule = rules[i];
            if (!rule.matches(request, sourceAddress)) {
                continue;
            }
            Limiter limiter = limiters[i];
            if (shadow[i]) {
                if (limiter == null) {
                    report(observer, request, rule.verdict());
                    continue;
                }
                Admission admission = limiter.admit(request, sourceAddress);
                if (admission instanceof Admission.Refused refused) {
                    report(observer, request, refused.verdict());
                } else if (admission instanceof ConcurrencyPermit permit) {
                    held = Permits.combine(held, permit);
                }
                continue;
            }
            if (limiter == null) {
                return finish(rule.verdict(), held);
            }
            if (stepwise && cluster[i]) {
                return new ClusterStep(this, i, request, sourceAddress, observer, held,
                        limiter.settings().key().text(request, sourceAddress));
            }
            Admission admission = limiter.admit(request, sourceAddress);
            if (admission instanceof Admission.Refused refused) {
                return finish(refused.verdict(), held);
            }
            if (admission instanceof ConcurrencyPermit permit) {
                held = Permits.combine(held, permit);
            }
        }
        return finish(defaultVerdict, held);
    }

    private static Evaluation evaluation(Object result) {
        return result instanceof ClusterStep step ? step : new Evaluation.Decided((Verdict) result);
    }

    /** {@link ClusterStep#passed}: on from the rule after {@code index}, holding {@code lease} too. */
    Evaluation resume(int index, InspectRequest request, byte[] sourceAddress, ShadowObserver observer, Permit held,
                      Permit lease) {
        return evaluation(run(index + 1, request, sourceAddress, observer, Permits.combine(held, lease), true));
    }

    /** {@link ClusterStep#refused}: the cluster limiter's reject verdict. */
    Evaluation refuse(int index, Permit held) {
        return new Evaluation.Decided(finish(clusterRefusals[index], held));
    }

    /** {@link ClusterStep#storeFailed}: the cluster limiter's {@code on-store-failure}. */
    Evaluation storeFailed(int index, InspectRequest request, byte[] sourceAddress, ShadowObserver observer,
                           Permit held) {
        Limiter limiter = limiters[index];
        return switch (limiter.settings().onStoreFailure()) {
            case ACCEPT -> resume(index, request, sourceAddress, observer, held, Permit.NONE);
            case REJECT -> new Evaluation.Decided(finish(storeUnavailable[index], held));
            case LOCAL -> {
                Admission admission = limiter.admit(request, sourceAddress);
                if (admission instanceof Admission.Refused refused) {
                    yield new Evaluation.Decided(finish(refused.verdict(), held));
                }
                yield resume(index, request, sourceAddress, observer, held,
                        admission instanceof ConcurrencyPermit permit ? permit : Permit.NONE);
            }
        };
    }

    Rule ruleAt(int index) {
        return rules[index];
    }

    Limiter limiterAt(int index) {
        return limiters[index];
    }

    int clusterLimitersFrom(int index) {
        return clusterLimitersFrom[index];
    }

    Optional<Duration> longestPendTimeoutAfter(int index) {
        return Optional.ofNullable(pendTimeoutAfter[index]);
    }

    private static Verdict finish(Verdict verdict, Permit held) {
        if (held == Permit.NONE) {
            return verdict;
        }
        if (verdict.action() == InspectAction.REJECT) {
            held.release();
            return verdict;
        }
        return verdict.withPermit(held);
    }

    private static void report(ShadowObserver observer, InspectRequest request, Verdict wouldBe) {
        try {
            observer.shadowVerdict(request, wouldBe);
        } catch (RuntimeException e) {
            // the observer's failure must not change or break the evaluation (documented on ShadowObserver)
        }
    }

    /**
     * The leading rules the kernel can enforce before the handshake: enforcing {@code reject} rules whose only
     * condition is {@code source}, up to the first rule that is not one (a rule before which the kernel dropped a
     * connection would never see it). IPv6 sources are left to user space.
     */
    public EarlyRejectPlan earlyRejectPlan() {
        CidrSet.Builder ipv4 = CidrSet.builder();
        List<String> compiled = new ArrayList<>();
        List<String> userSpace = new ArrayList<>();
        for (int i = 0; i < rules.length; i++) {
            Rule rule = rules[i];
            String why = notEarlyReject(rule, limiters[i] != null);
            if (why != null) {
                int after = rules.length - i - 1;
                userSpace.add("rule '" + rule.name() + "' " + why
                        + (after > 0 ? ", and the " + after + " rule(s) after it" : ""));
                break;
            }
            SourceMatch source = (SourceMatch) rule.matches().get(0);
            ipv4.addAll(source.ipv4Sources());
            if (source.matchesSomeIpv6()) {
                userSpace.add("the IPv6 sources of rule '" + rule.name() + "'");
            }
            compiled.add(rule.name());
        }
        return new EarlyRejectPlan(compiled, ipv4.build(), userSpace);
    }

    private static String notEarlyReject(Rule rule, boolean limiter) {
        if (rule.isShadow()) {
            return "runs in shadow mode";
        }
        if (limiter) {
            return "is a limiter";
        }
        if (rule.action() != InspectAction.REJECT) {
            return "does not reject (" + rule.action().label() + ")";
        }
        if (rule.matches().size() != 1 || !(rule.matches().get(0) instanceof SourceMatch)) {
            return rule.matches().isEmpty() ? "has no source condition" : "has conditions besides source";
        }
        return null;
    }

    /**
     * What this policy says now of a connection let through before, deciding locally only: the name of the rule
     * (or {@value Verdict#DEFAULT_RULE}) that rejects it, or empty to leave it alone. Shadow rules are skipped;
     * a limiter rule admitted the connection once and is passed over (its verdict never closes a live
     * connection, and checking would take a token); a {@code pend} verdict leaves it alone (no remote call).
     * Any thread; allocates only what {@code getAddress()} does.
     */
    public Optional<String> recheck(InspectRequest request) {
        InetAddress address = request.source().getAddress();
        byte[] sourceAddress = address == null ? null : address.getAddress();
        for (int i = 0; i < rules.length; i++) {
            Rule rule = rules[i];
            if (shadow[i] || limiters[i] != null || !rule.matches(request, sourceAddress)) {
                continue;
            }
            return rejecting(rule.verdict());
        }
        return rejecting(defaultVerdict);
    }

    private static Optional<String> rejecting(Verdict verdict) {
        return verdict.action() == InspectAction.REJECT ? Optional.of(verdict.rule()) : Optional.empty();
    }

    /** Rule names in evaluation order. */
    public List<String> ruleNames() {
        return ruleNames;
    }

    /** The compiled rules in evaluation order (for views such as the admin API). */
    public List<Rule> rules() {
        return List.of(rules);
    }

    /** The limiters of this listener's limiter rules, in rule order. */
    public List<Limiter> limiters() {
        List<Limiter> list = new ArrayList<>();
        for (Limiter limiter : limiters) {
            if (limiter != null) {
                list.add(limiter);
            }
        }
        return list;
    }

    /**
     * Whether an enforcing rule is a {@code scope: cluster} limiter: only then can {@link #evaluateStepwise} stop
     * before a verdict. Any thread.
     */
    public boolean hasClusterLimiters() {
        return hasClusterLimiters;
    }

    /** Whether any rule runs in shadow mode. */
    public boolean hasShadowRules() {
        for (boolean s : shadow) {
            if (s) {
                return true;
            }
        }
        return false;
    }

    public InspectAction defaultAction() {
        return defaultVerdict.action();
    }

    @Override
    public String toString() {
        return "ListenerPolicy[" + listener + ", rules=" + ruleNames + ", default=" + defaultAction().label() + "]";
    }
}
