package io.portcullis.gateway.decision;

import io.portcullis.policy.ListenerPolicy;
import io.portcullis.policy.Policy;
import io.portcullis.policy.rule.Rule;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks that every decision service a policy's {@code pend} rules name is configured: a policy that names
 * one that is not stops the start, and a reload to it is refused. Immutable; any thread.
 */
public final class DecisionNameCheck {

    private static final DecisionNameCheck NONE = new DecisionNameCheck(Optional.empty());

    private final Optional<Set<String>> configured;

    private DecisionNameCheck(Optional<Set<String>> configured) {
        this.configured = configured;
    }

    /** Against the services configured under {@code portcullis.decision-services}. */
    public static DecisionNameCheck of(Collection<String> configured) {
        return new DecisionNameCheck(Optional.of(Set.copyOf(configured)));
    }

    /** Checks nothing: for callers that do not know the configuration. */
    public static DecisionNameCheck none() {
        return NONE;
    }

    /** One line per rule that names a service not configured, {@code file:line:column: what is wrong}; empty when fine. */
    public List<String> problems(Policy policy) {
        if (configured.isEmpty()) {
            return List.of();
        }
        Set<String> known = configured.get();
        List<String> problems = new ArrayList<>();
        for (String listener : policy.listenerNames()) {
            ListenerPolicy section = policy.listener(listener).orElseThrow();
            for (Rule rule : section.rules()) {
                Optional<String> service = rule.verdict().decision();
                if (service.isPresent() && !known.contains(service.get())) {
                    problems.add(position(policy, rule) + ": rule '" + rule.name()
                            + "' of listener '" + listener + "' names decision service '" + service.get()
                            + "', which is not configured ("
                            + (known.isEmpty() ? "none is" : "configured: " + String.join(", ", new TreeSet<>(known)))
                            + "); add it under portcullis.decision-services or fix the name");
                }
            }
        }
        return problems;
    }

    private static String position(Policy policy, Rule rule) {
        return rule.line() <= 0 ? policy.source()
                : policy.source() + ":" + rule.line() + (rule.column() > 0 ? ":" + rule.column() : "");
    }
}
