package io.portcullis.policy.rule;

import io.portcullis.policy.limit.Limiter;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One compiled rule of a listener. It matches when all of its conditions hold (a rule without
 * conditions matches every connection), and is one of:
 *
 * <ul>
 *   <li>a <em>deciding</em> rule ({@code action:}): it gives its {@link #verdict()} and evaluation ends;</li>
 *   <li>a <em>limiter</em> rule ({@code rate-limit:} or {@code concurrency-limit:}): it rejects a
 *       connection past its bound and otherwise passes it on to the next rule.</li>
 * </ul>
 * In {@link RuleMode#SHADOW} mode either kind is evaluated and reported but never decides.
 *
 * <p>Immutable and thread-safe. Verdicts are built once here, so evaluation allocates nothing.
 */
public final class Rule {

    /**
     * How a {@code route} (a backend pool's name) is spelled: lower-case letters, digits and '-', starting with a
     * letter or digit, at most 63 characters. The gateway's {@code pools} keys follow it too.
     */
    public static final String ROUTE_PATTERN = "[a-z0-9][a-z0-9-]{0,62}";

    private final String name;
    private final int line;
    private final int column;
    private final Match[] matches;
    private final Verdict verdict;
    private final Limiter limiter;
    private final RuleMode mode;

    private Rule(String name, int line, int column, List<Match> matches, Verdict verdict, Limiter limiter,
                 RuleMode mode) {
        this.name = Objects.requireNonNull(name, "name");
        this.line = line;
        this.column = column;
        this.matches = matches.toArray(new Match[0]);
        this.verdict = verdict;
        this.limiter = limiter;
        this.mode = Objects.requireNonNull(mode, "mode");
    }

    /**
     * An enforcing rule that decides {@code action}.
     *
     * @param name    unique within its listener; reported as the verdict's rule
     * @param line    1-based line of the rule in its file (0 when not from a file), for messages and views
     * @param matches the conditions, all of which must hold
     * @param action  what the rule decides
     */
    public Rule(String name, int line, List<Match> matches, InspectAction action) {
        this(name, line, 0, matches, new Verdict(action, name), null, RuleMode.ENFORCE);
    }

    /**
     * A deciding rule; {@code verdict.rule()} must be {@code name}.
     *
     * @param line   1-based line of the rule in its file, 0 when not from a file
     * @param column 1-based column of the rule in its file, 0 when not from a file
     */
    public static Rule deciding(String name, int line, int column, List<Match> matches, Verdict verdict,
                                RuleMode mode) {
        if (!verdict.rule().equals(name)) {
            throw new IllegalArgumentException("verdict of rule '" + name + "' names rule '" + verdict.rule() + "'");
        }
        return new Rule(name, line, column, matches, verdict, null, mode);
    }

    /** A limiter rule; {@code line} and {@code column} as for {@link #deciding}. */
    public static Rule limiting(String name, int line, int column, List<Match> matches, Limiter limiter,
                                RuleMode mode) {
        return new Rule(name, line, column, matches, Objects.requireNonNull(limiter, "limiter").refusal(), limiter,
                mode);
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

    /** Whether every condition holds for every connection (whatever the rule then does). */
    public boolean matchesEverything() {
        for (Match match : matches) {
            if (!match.matchesEverything()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether this rule ends evaluation for every connection, so no later rule can match: an enforcing
     * deciding rule whose conditions always hold. Limiter and shadow rules never do.
     */
    public boolean catchesAll() {
        return limiter == null && mode == RuleMode.ENFORCE && matchesEverything();
    }

    public String name() {
        return name;
    }

    /** 1-based line of the rule in its file; 0 when not from a file. */
    public int line() {
        return line;
    }

    /** 1-based column of the rule in its file (where its first key starts); 0 when not from a file. */
    public int column() {
        return column;
    }

    /** Whether a condition of this rule needs what a TLS peek finds ({@link Match#needsTlsPeek()}). */
    public boolean needsTlsPeek() {
        for (Match match : matches) {
            if (match.needsTlsPeek()) {
                return true;
            }
        }
        return false;
    }

    /** Whether a condition of this rule needs a PROXY-protocol header ({@link Match#needsProxyHeader()}). */
    public boolean needsProxyHeader() {
        for (Match match : matches) {
            if (match.needsProxyHeader()) {
                return true;
            }
        }
        return false;
    }

    /** What the rule does when it acts: its action, or {@code REJECT} for a limiter at its bound. */
    public InspectAction action() {
        return verdict.action();
    }

    /**
     * The verdict this rule gives when it decides (the same instance every time); for a limiter rule,
     * the verdict it gives at its bound.
     */
    public Verdict verdict() {
        return verdict;
    }

    /** The limiter of a limiter rule; empty for a deciding rule. */
    public Optional<Limiter> limiter() {
        return Optional.ofNullable(limiter);
    }

    public RuleMode mode() {
        return mode;
    }

    public boolean isShadow() {
        return mode == RuleMode.SHADOW;
    }

    /** The conditions, in the order written. */
    public List<Match> matches() {
        return List.of(matches);
    }

    @Override
    public String toString() {
        String does = limiter != null ? limiter.settings().toString() : action().label();
        return "Rule[" + name + " -> " + does + (isShadow() ? " (shadow)" : "") + ", line " + line + "]";
    }
}
