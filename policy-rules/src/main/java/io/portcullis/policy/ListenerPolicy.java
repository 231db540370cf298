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

    /**
     * @param listener      the listener's name, as in {@code application.yml}
     * @param rules         in evaluation order; names must be unique
     * @param defaultAction what to do when no rule decides
     */
    public ListenerPolicy(String listener, List<Rule> rules, InspectAction defaultAction) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.rules = rules.toArray(new Rule[0]);
        this.defaultVerdict = new Verdict(defaultAction, Verdict.DEFAULT_RULE);
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
     */
    public Verdict evaluate(InspectRequest request, ShadowObserver observer) {
        InetAddress address = request.source().getAddress();
        byte[] sourceAddress = address == null ? null : address.getAddress();
        Permit held = Permit.NONE;
        for (int i = 0; i < rules.length; i++) {
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
