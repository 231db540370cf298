package io.portcullis.policy.yaml;

import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitSettings;
import io.portcullis.policy.limit.RateLimit;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.Permit;
import io.portcullis.policy.model.Verdict;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.MatchType;
import io.portcullis.policy.rule.RuleMode;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One rule of a listener: {@code name} (required); conditions, one {@link MatchParser} per key
 * (built-in ones, then custom {@link MatchType}s from the service loader); then either an
 * {@code action} (with {@code decision} and {@code timeout} for {@code pend}, {@code route} for {@code accept} and
 * {@code pend}) or one limiter
 * ({@code rate-limit} or {@code concurrency-limit}); and {@code mode}. The table of parsers here is
 * the table of known rule keys.
 */
final class RuleParser {

    static final String NAME = "name";
    static final String ACTION = "action";
    static final String DECISION = "decision";
    static final String TIMEOUT = "timeout";
    static final String ROUTE = "route";
    static final String MODE = "mode";

    /** The built-in condition kinds, in the order the documentation lists them. */
    private static final List<MatchParser> BUILT_IN = List.of(new SourceParser(), new PortParser(),
            NamePatternParser.sni(), new AlpnParser(), new TlsFingerprintParser(), NamePatternParser.proxyAuthority(),
            new ProxyTlvParser(), new TimeParser());

    /** Keys that are not conditions, after them. */
    private static final List<String> OUTCOME_KEYS =
            List.of(ACTION, DECISION, TIMEOUT, ROUTE, RateLimit.KEY, ConcurrencyLimit.KEY, MODE);

    /** Names a rule cannot take because verdicts use them for something else. */
    private static final Set<String> RESERVED_NAMES = Set.of(Verdict.DEFAULT_RULE, PolicyEngine.NO_POLICY_RULE);

    private static final Pattern SERVICE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern POOL_NAME = Pattern.compile(io.portcullis.policy.rule.Rule.ROUTE_PATTERN);
    private static final Pattern CUSTOM_KEY = Pattern.compile("[a-z][a-z0-9-]*");

    private final ParseContext context;
    private final List<MatchParser> matchParsers;
    private final Section section;
    /** Per condition key, the compiled value of each node seen: an alias (*name) is compiled once. */
    private final Map<String, Map<Node, Optional<Match>>> compiled = new HashMap<>();

    RuleParser(ParseContext context) {
        this.context = context;
        this.matchParsers = new ArrayList<>(BUILT_IN);
        List<String> keys = new ArrayList<>();
        keys.add(NAME);
        BUILT_IN.forEach(parser -> keys.add(parser.key()));
        for (MatchType type : context.options().matchTypes()) {
            String key = type.key();
            String owner = type.getClass().getName();
            if (key == null || !CUSTOM_KEY.matcher(key).matches()) {
                context.problems().add(1, 1, "match type " + owner + " has an invalid key '" + key
                        + "' (use lower-case letters, digits and '-')");
            } else if (keys.contains(key) || OUTCOME_KEYS.contains(key)) {
                context.problems().add(1, 1, "match type " + owner + " uses the key '" + key
                        + "', which is already taken; it cannot be used");
            } else {
                keys.add(key);
                matchParsers.add(new CustomMatchParser(type));
            }
        }
        keys.addAll(OUTCOME_KEYS);
        this.section = new Section("rule", keys);
    }

    /**
     * The validated rule, or empty when anything in it is wrong (all of which is reported).
     *
     * @param node      the rule's node
     * @param position  1-based position in the listener's rules, for messages about a rule without a name
     * @param seenNames names of the listener's earlier rules with their lines; this rule's is added
     */
    Optional<RuleDraft> parse(Node node, int position, Map<String, Integer> seenNames) {
        Problems problems = context.problems();
        Optional<MappingNode> mapping = Nodes.mapping(node, problems);
        if (mapping.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        Map<String, Nodes.Entry> entries = Nodes.entries(mapping.get(), section, problems);

        Optional<String> name = Optional.empty();
        Nodes.Entry nameEntry = entries.get(NAME);
        if (nameEntry == null) {
            problems.add(node, "missing required key 'name' in rule #" + position);
        } else {
            name = Nodes.string(nameEntry.value(), problems).flatMap(text -> checkName(text, nameEntry.value(), seenNames));
        }
        String label = name.map(n -> "rule '" + n + "'").orElse("rule #" + position);

        List<Match> matches = new ArrayList<>();
        boolean matchFailed = false;
        for (MatchParser parser : matchParsers) {
            Nodes.Entry entry = entries.get(parser.key());
            if (entry != null) {
                // an aliased value that failed is reported once, at its anchor, but fails every rule using it
                Optional<Match> match = compiled.computeIfAbsent(parser.key(), key -> new IdentityHashMap<>())
                        .computeIfAbsent(entry.value(), value -> parser.parse(value, context));
                match.ifPresent(matches::add);
                matchFailed |= match.isEmpty();
            }
        }

        Nodes.Entry actionEntry = entries.get(ACTION);
        Nodes.Entry rateEntry = entries.get(RateLimit.KEY);
        Nodes.Entry concurrencyEntry = entries.get(ConcurrencyLimit.KEY);
        Optional<InspectAction> action = actionEntry == null ? Optional.empty() : Actions.parse(actionEntry.value(), problems);
        Optional<LimitSettings> limit = Optional.empty();
        if (rateEntry != null) {
            limit = LimitParser.rate(rateEntry.value(), problems);
        }
        if (concurrencyEntry != null) {
            Optional<LimitSettings> concurrency = LimitParser.concurrency(concurrencyEntry.value(), problems);
            limit = limit.isPresent() ? limit : concurrency;
        }
        Nodes.Entry limiterEntry = rateEntry != null ? rateEntry : concurrencyEntry;
        if (actionEntry == null && limiterEntry == null) {
            problems.add(node, "missing required key 'action' in " + label
                    + " (or a limiter: 'rate-limit' or 'concurrency-limit')");
        } else if (actionEntry != null && limiterEntry != null) {
            problems.add(limiterEntry.key(), label + " has both 'action' and '" + limiterEntry.name()
                    + "': a limiter rule takes no action (it rejects past its bound and passes other connections on"
                    + " to the next rule); put the action in a rule of its own");
        } else if (rateEntry != null && concurrencyEntry != null) {
            problems.add(concurrencyEntry.key(), label + " has both 'rate-limit' and 'concurrency-limit'; give"
                    + " each limiter a rule of its own");
        }

        Optional<String> decision = Optional.empty();
        Nodes.Entry decisionEntry = entries.get(DECISION);
        if (decisionEntry != null && pendOnly(decisionEntry, action, actionEntry, limiterEntry, label)) {
            decision = Nodes.string(decisionEntry.value(), problems).map(String::strip);
            if (decision.isPresent() && !SERVICE_NAME.matcher(decision.get()).matches()) {
                problems.add(decisionEntry.value(), "invalid decision service name '" + decision.get()
                        + "' (use letters, digits, '.', '_' and '-')");
            }
        }
        Optional<Duration> timeout = Optional.empty();
        Nodes.Entry timeoutEntry = entries.get(TIMEOUT);
        if (timeoutEntry != null && pendOnly(timeoutEntry, action, actionEntry, limiterEntry, label)) {
            timeout = Durations.parse(timeoutEntry.value(), problems);
        }

        Optional<String> route = Optional.empty();
        Nodes.Entry routeEntry = entries.get(ROUTE);
        if (routeEntry != null && acceptOrPend(routeEntry, action, actionEntry, limiterEntry, label)) {
            route = Nodes.string(routeEntry.value(), problems).map(String::strip);
            if (route.isPresent() && !POOL_NAME.matcher(route.get()).matches()) {
                problems.add(routeEntry.value(), "invalid route '" + route.get() + "' (a backend pool's name: lower-case"
                        + " letters, digits and '-', starting with a letter or digit, at most 63)");
            }
        }

        RuleMode mode = RuleMode.ENFORCE;
        Nodes.Entry modeEntry = entries.get(MODE);
        if (modeEntry != null) {
            mode = mode(modeEntry.value(), problems);
        }

        if (problems.count() != before || matchFailed || name.isEmpty()) {
            return Optional.empty();
        }
        Optional<Verdict> verdict = action.isEmpty() ? Optional.empty() : Optional.of(
                new Verdict(action.get(), name.get(), decision, timeout, Optional.empty(), Permit.NONE, route));
        return Optional.of(new RuleDraft(name.get(), Nodes.line(node), Nodes.column(node), matches, verdict, limit, mode));
    }

    /** Whether a {@code decision}/{@code timeout} key stands in a pend rule; reports it when not. */
    private boolean pendOnly(Nodes.Entry entry, Optional<InspectAction> action, Nodes.Entry actionEntry,
                             Nodes.Entry limiterEntry, String label) {
        if (action.isPresent() && action.get() == InspectAction.PEND) {
            return true;
        }
        if (action.isPresent()) {
            context.problems().add(entry.key(), "'" + entry.name() + "' applies to 'action: pend' only ("
                    + label + " has action: " + action.get().label() + ")");
        } else if (actionEntry == null && limiterEntry != null) {
            context.problems().add(entry.key(), "'" + entry.name() + "' applies to 'action: pend' only ("
                    + label + " is a limiter rule)");
        }
        return false;
    }

    /** Whether a {@code route} key stands in an accept or pend rule; reports it when not. */
    private boolean acceptOrPend(Nodes.Entry entry, Optional<InspectAction> action, Nodes.Entry actionEntry,
                                 Nodes.Entry limiterEntry, String label) {
        if (action.isPresent() && action.get() != InspectAction.REJECT) {
            return true;
        }
        if (action.isPresent()) {
            context.problems().add(entry.key(), "'" + entry.name() + "' applies to 'action: accept' and 'action: pend'"
                    + " only (" + label + " has action: reject, and a rejected connection goes nowhere)");
        } else if (actionEntry == null && limiterEntry != null) {
            context.problems().add(entry.key(), "'" + entry.name() + "' applies to 'action: accept' and 'action: pend'"
                    + " only (" + label + " is a limiter rule)");
        }
        return false;
    }

    private static RuleMode mode(Node node, Problems problems) {
        Optional<String> text = Nodes.string(node, problems);
        if (text.isEmpty()) {
            return RuleMode.ENFORCE;
        }
        for (RuleMode mode : RuleMode.values()) {
            if (mode.label().equals(text.get())) {
                return mode;
            }
        }
        problems.add(node, "unknown mode '" + text.get() + "' (expected enforce or shadow)");
        return RuleMode.ENFORCE;
    }

    private Optional<String> checkName(String name, Node node, Map<String, Integer> seenNames) {
        Problems problems = context.problems();
        if (name.isBlank()) {
            problems.add(node, "empty rule name");
            return Optional.empty();
        }
        if (RESERVED_NAMES.contains(name)) {
            problems.add(node, "rule name '" + name + "' is reserved (verdicts use it when no rule decides)");
            return Optional.empty();
        }
        Integer first = seenNames.putIfAbsent(name, Nodes.line(node));
        if (first != null) {
            problems.add(node, "duplicate rule name '" + name + "' (first at line " + first + ")");
            return Optional.empty();
        }
        return Optional.of(name);
    }
}
