package io.portcullis.policy.yaml;

import io.portcullis.policy.ListenerPolicy;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.model.InspectAction;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One listener's section: {@code rules} (optional, ordered) and {@code default} (required). Also
 * finds rules that can never match because an earlier rule takes every connection (limiter and
 * shadow rules never do: they pass connections on).
 */
final class ListenerParser {

    static final String RULES = "rules";
    static final String DEFAULT = "default";

    /** A listener that validated, its rules not yet linked to limiter state. */
    record Draft(String listener, List<RuleDraft> rules, InspectAction defaultAction) {

        ListenerPolicy link(LimiterRegistry limiters) {
            return new ListenerPolicy(listener, rules.stream().map(rule -> rule.link(listener, limiters)).toList(),
                    defaultAction);
        }
    }

    private final ParseContext context;
    private final RuleParser ruleParser;

    ListenerParser(ParseContext context) {
        this.context = context;
        this.ruleParser = new RuleParser(context);
    }

    /**
     * The validated listener, or empty when anything in it is wrong (all of which is reported).
     *
     * @param entry the listener's name (key) and section (value)
     */
    Optional<Draft> parse(Nodes.Entry entry) {
        String listener = entry.name();
        Node node = entry.value();
        Problems problems = context.problems();
        Optional<MappingNode> mapping = Nodes.mapping(node, problems);
        if (mapping.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        Map<String, Nodes.Entry> entries = Nodes.entries(mapping.get(), Section.LISTENER, problems);

        List<RuleDraft> rules = new ArrayList<>();
        Nodes.Entry rulesEntry = entries.get(RULES);
        if (rulesEntry != null) {
            Optional<SequenceNode> sequence = Nodes.sequence(rulesEntry.value(), problems);
            if (sequence.isPresent()) {
                rules = rules(sequence.get());
            }
        }

        Optional<InspectAction> defaultAction = Optional.empty();
        Nodes.Entry defaultEntry = entries.get(DEFAULT);
        if (defaultEntry == null) {
            problems.add(entry.key(), "missing required key 'default' in listener '" + listener + "'");
        } else {
            defaultAction = Actions.parse(defaultEntry.value(), problems);
        }
        if (problems.count() != before || defaultAction.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Draft(listener, rules, defaultAction.get()));
    }

    private List<RuleDraft> rules(SequenceNode sequence) {
        Problems problems = context.problems();
        List<RuleDraft> rules = new ArrayList<>();
        Map<String, Integer> seenNames = new HashMap<>();
        RuleDraft catchAll = null;
        int position = 0;
        for (Node node : sequence.getValue()) {
            if (problems.full()) {
                break;
            }
            position++;
            Optional<RuleDraft> rule = ruleParser.parse(node, position, seenNames);
            if (rule.isEmpty()) {
                continue;
            }
            if (catchAll != null) {
                problems.add(node, "rule '" + rule.get().name() + "' can never match: rule '" + catchAll.name()
                        + "' at line " + catchAll.line() + " matches every connection first");
            } else if (rule.get().catchesAll()) {
                catchAll = rule.get();
            }
            rules.add(rule.get());
        }
        return rules;
    }
}
