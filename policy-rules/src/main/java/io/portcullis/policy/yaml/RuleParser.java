package io.portcullis.policy.yaml;

import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.Verdict;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.Rule;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One rule of a listener: {@code name} and {@code action} (required) and any number of conditions,
 * one {@link MatchParser} per condition key. The table of parsers here is the table of known rule
 * keys; a later condition kind is one more entry.
 */
final class RuleParser {

    static final String NAME = "name";
    static final String ACTION = "action";

    /** The condition kinds, in the order the documentation lists them. */
    private static final List<MatchParser> MATCH_PARSERS = List.of(new SourceParser());

    /** Keys the design documents for later versions. */
    private static final Set<String> PLANNED = Set.of(
            "port", "sni", "alpn", "time", "rate-limit", "concurrency-limit", "decision", "mode");

    /** The known keys of a rule: name, one per condition kind, action. */
    static final Section SECTION = new Section("rule", ruleKeys(), PLANNED);

    /** Names a rule cannot take because verdicts use them for something else. */
    private static final Set<String> RESERVED_NAMES = Set.of(Verdict.DEFAULT_RULE, PolicyEngine.NO_POLICY_RULE);

    private final ParseContext context;
    /** Per condition key, the compiled value of each node seen: an alias (*name) is compiled once. */
    private final Map<String, Map<Node, Optional<Match>>> compiled = new HashMap<>();

    private static List<String> ruleKeys() {
        List<String> keys = new ArrayList<>();
        keys.add(NAME);
        MATCH_PARSERS.forEach(parser -> keys.add(parser.key()));
        keys.add(ACTION);
        return keys;
    }

    RuleParser(ParseContext context) {
        this.context = context;
    }

    /**
     * The compiled rule, or empty when anything in it is wrong (all of which is reported).
     *
     * @param node      the rule's node
     * @param position  1-based position in the listener's rules, for messages about a rule without a name
     * @param seenNames names of the listener's earlier rules with their lines; this rule's is added
     */
    Optional<Rule> parse(Node node, int position, Map<String, Integer> seenNames) {
        Problems problems = context.problems();
        Optional<MappingNode> mapping = Nodes.mapping(node, problems);
        if (mapping.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        Map<String, Nodes.Entry> entries = Nodes.entries(mapping.get(), SECTION, problems);

        Optional<String> name = Optional.empty();
        Nodes.Entry nameEntry = entries.get(NAME);
        if (nameEntry == null) {
            problems.add(node, "missing required key 'name' in rule #" + position);
        } else {
            name = Nodes.string(nameEntry.value(), problems).flatMap(text -> checkName(text, nameEntry.value(), seenNames));
        }
        String label = name.map(n -> "rule '" + n + "'").orElse("rule #" + position);

        Optional<InspectAction> action = Optional.empty();
        Nodes.Entry actionEntry = entries.get(ACTION);
        if (actionEntry == null) {
            problems.add(node, "missing required key 'action' in " + label);
        } else {
            action = Actions.parse(actionEntry.value(), problems);
        }

        List<Match> matches = new ArrayList<>();
        boolean matchFailed = false;
        for (MatchParser parser : MATCH_PARSERS) {
            Nodes.Entry entry = entries.get(parser.key());
            if (entry != null) {
                Optional<Match> match = compiled.computeIfAbsent(parser.key(), key -> new IdentityHashMap<>())
                        .computeIfAbsent(entry.value(), value -> parser.parse(value, context));
                match.ifPresent(matches::add);
                matchFailed |= match.isEmpty();
            }
        }
        if (problems.count() != before || matchFailed || name.isEmpty() || action.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Rule(name.get(), Nodes.line(node), matches, action.get()));
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
