package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

import java.util.List;
import java.util.Objects;

/**
 * One compiled rule of a listener: it matches when all of its conditions hold (a rule without
 * conditions matches every connection), and then decides {@link #action()}.
 *
 * <p>Immutable and thread-safe. The {@link Verdict} is built once here, so evaluation allocates nothing.
 */
public final class Rule {

    private final String name;
    private final int line;
    private final Match[] matches;
    private final Verdict verdict;

    /**
     * @param name    unique within its listener; reported as the verdict's rule
     * @param line    1-based line of the rule in its file (0 when not from a file), for messages and views
     * @param matches the conditions, all of which must hold
     * @param action  what the rule decides
     */
    public Rule(String name, int line, List<Match> matches, InspectAction action) {
        this.name = Objects.requireNonNull(name, "name");
        this.line = line;
        this.matches = matches.toArray(new Match[0]);
        this.verdict = new Verdict(action, name);
    }

    /** Whether every condition holds. Any thread; allocates nothing. */
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        for (Match match : matches) {
            if (!match.matches(request, sourceAddress)) {
                return false;
            }
        }
        return true;
    }

    /** Whether this rule takes every connection, so no later rule of its listener can match. */
    public boolean matchesEverything() {
        for (Match match : matches) {
            if (!match.matchesEverything()) {
                return false;
            }
        }
        return true;
    }

    public String name() {
        return name;
    }

    public int line() {
        return line;
    }

    public InspectAction action() {
        return verdict.action();
    }

    /** The verdict this rule gives when it matches (the same instance every time). */
    public Verdict verdict() {
        return verdict;
    }

    /** The conditions, in the order written. */
    public List<Match> matches() {
        return List.of(matches);
    }

    @Override
    public String toString() {
        return "Rule[" + name + " -> " + action().label() + ", line " + line + "]";
    }
}
