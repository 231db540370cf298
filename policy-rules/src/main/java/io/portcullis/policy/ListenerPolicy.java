package io.portcullis.policy;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;
import io.portcullis.policy.rule.Rule;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The compiled rules of one listener: evaluated in order, the first rule that matches decides;
 * when none does, the listener's {@code default} decides with rule name {@value Verdict#DEFAULT_RULE}.
 *
 * <p>Immutable and thread-safe. {@link #evaluate} runs on the event loop: it does not block, throw
 * or allocate, except for the source address bytes ({@link InetAddress#getAddress()}).
 */
public final class ListenerPolicy {

    private final String listener;
    private final Rule[] rules;
    private final Verdict defaultVerdict;
    private final List<String> ruleNames;

    /**
     * @param listener      the listener's name, as in {@code application.yml}
     * @param rules         in evaluation order; names must be unique
     * @param defaultAction what to do when no rule matches
     */
    public ListenerPolicy(String listener, List<Rule> rules, InspectAction defaultAction) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.rules = rules.toArray(new Rule[0]);
        this.defaultVerdict = new Verdict(defaultAction, Verdict.DEFAULT_RULE);
        Set<String> seen = new HashSet<>();
        for (Rule rule : this.rules) {
            if (!seen.add(rule.name())) {
                throw new IllegalArgumentException("duplicate rule name '" + rule.name() + "' in listener '" + listener + "'");
            }
        }
        this.ruleNames = Arrays.stream(this.rules).map(Rule::name).toList();
    }

    /** The listener's name. */
    public String listener() {
        return listener;
    }

    /**
     * The verdict for a connection: the first matching rule's, else the default. Any thread.
     * A connection whose source address is unresolved matches no rule that has a source condition.
     */
    public Verdict evaluate(InspectRequest request) {
        InetAddress address = request.source().getAddress();
        byte[] sourceAddress = address == null ? null : address.getAddress();
        for (Rule rule : rules) {
            if (rule.matches(request, sourceAddress)) {
                return rule.verdict();
            }
        }
        return defaultVerdict;
    }

    /** Rule names in evaluation order. */
    public List<String> ruleNames() {
        return ruleNames;
    }

    /** The compiled rules in evaluation order (for views such as the admin API). */
    public List<Rule> rules() {
        return List.of(rules);
    }

    public InspectAction defaultAction() {
        return defaultVerdict.action();
    }

    @Override
    public String toString() {
        return "ListenerPolicy[" + listener + ", rules=" + ruleNames + ", default=" + defaultAction().label() + "]";
    }
}
