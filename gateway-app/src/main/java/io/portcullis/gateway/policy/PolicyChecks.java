package io.portcullis.gateway.policy;

import io.portcullis.gateway.decision.DecisionNameCheck;
import io.portcullis.policy.Policy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * What the gateway checks of a policy that parsed, at start and on every reload alike: a section for
 * every inspecting listener, and a configured service for every decision a pend rule names.
 */
public final class PolicyChecks {

    private PolicyChecks() {
    }

    /** The problems, one message each; empty when the policy can be put in force. */
    public static List<String> problems(Policy policy, Collection<String> inspecting, DecisionNameCheck decisionNames) {
        List<String> problems = new ArrayList<>();
        List<String> missing = inspecting.stream().filter(name -> policy.listener(name).isEmpty()).toList();
        if (!missing.isEmpty()) {
            problems.add(policy.source() + ": no rules for listener(s) " + missing
                    + " which have conditional-accept: true (the file has: " + new TreeSet<>(policy.listenerNames()) + ")");
        }
        problems.addAll(decisionNames.problems(policy));
        return problems;
    }
}
