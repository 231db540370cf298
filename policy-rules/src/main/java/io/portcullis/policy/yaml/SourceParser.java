package io.portcullis.policy.yaml;

import io.portcullis.policy.net.CidrFormatException;
import io.portcullis.policy.net.CidrSet;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.SourceMatch;

import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code source: [127.0.0.1, 10.0.0.0/8, list:office, "!list:blocked"]} — a list of CIDRs, single
 * addresses, list references and negated list references; see {@link SourceMatch} for the meaning.
 */
final class SourceParser implements MatchParser {

    static final String LIST_PREFIX = "list:";
    static final String NOT = "!";

    /** How many known list names an "unknown list" message shows before it cuts the list short. */
    private static final int NAMES_SHOWN = 10;

    @Override
    public String key() {
        return SourceMatch.KEY;
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        Problems problems = context.problems();
        Optional<SequenceNode> sequence = Nodes.sequence(value, problems);
        if (sequence.isEmpty()) {
            return Optional.empty();
        }
        if (sequence.get().getValue().isEmpty()) {
            problems.add(value, "empty 'source' list: the rule could never match (leave 'source' out to match"
                    + " any address)");
            return Optional.empty();
        }
        int before = problems.count();
        CidrSet.Builder addresses = CidrSet.builder();
        boolean anyAddress = false;
        List<CidrSet> includedLists = new ArrayList<>();
        List<CidrSet> excludedLists = new ArrayList<>();
        for (Node entry : sequence.get().getValue()) {
            if (problems.full()) {
                break;
            }
            if (entry instanceof ScalarNode && Nodes.hasLocalTag(entry)) {
                String tag = entry.getTag().getValue();
                problems.add(entry, "YAML reads " + tag + " as a tag; quote the entry: \"" + tag + "\"");
                continue;
            }
            Optional<String> text = Nodes.string(entry, problems);
            if (text.isEmpty()) {
                continue;
            }
            String item = text.get().strip();
            if (item.startsWith(NOT)) {
                String rest = item.substring(NOT.length());
                if (!rest.startsWith(LIST_PREFIX)) {
                    problems.add(entry, "only lists can be negated: write \"!list:NAME\", not '" + item + "'");
                    continue;
                }
                lookUp(rest.substring(LIST_PREFIX.length()), entry, context).ifPresent(excludedLists::add);
            } else if (item.startsWith(LIST_PREFIX)) {
                lookUp(item.substring(LIST_PREFIX.length()), entry, context).ifPresent(includedLists::add);
            } else {
                try {
                    addresses.add(item);
                    anyAddress = true;
                } catch (CidrFormatException e) {
                    problems.add(entry, e.getMessage());
                }
            }
        }
        if (problems.count() != before) {
            return Optional.empty();
        }
        CidrSet included;
        if (!anyAddress && includedLists.size() == 1) {
            included = includedLists.get(0); // share the list's set instead of copying it
        } else {
            includedLists.forEach(addresses::addAll);
            included = addresses.build();
        }
        return Optional.of(new SourceMatch(included, excludedLists));
    }

    private static Optional<CidrSet> lookUp(String name, Node entry, ParseContext context) {
        return reference(name, entry, context, SourceMatch.KEY, ListContents.Kind.ADDRESSES).map(NamedList::addresses);
    }

    /**
     * The list {@code list:NAME} refers to, when it exists and holds what {@code key} needs; else reports
     * why not at {@code entry}.
     */
    static Optional<NamedList> reference(String name, Node entry, ParseContext context, String key,
                                         ListContents.Kind wanted) {
        if (name.isEmpty()) {
            context.problems().add(entry, "missing list name after 'list:'");
            return Optional.empty();
        }
        NamedList list = context.lists().get(name);
        if (list == null) {
            context.problems().add(entry, unknownListMessage(name, context.lists()));
            return Optional.empty();
        }
        if (!list.serves(wanted)) {
            context.problems().add(entry, "list '" + name + "' (line " + list.line() + ") holds "
                    + list.kind().plural() + ", " + key + " needs " + wanted.plural());
            return Optional.empty();
        }
        return Optional.of(list);
    }

    static String unknownListMessage(String name, Map<String, NamedList> lists) {
        if (lists.isEmpty()) {
            return "unknown list '" + name + "' (no lists are defined under 'lists')";
        }
        if (lists.size() <= NAMES_SHOWN) {
            return "unknown list '" + name + "' (known: " + String.join(", ", lists.keySet()) + ")";
        }
        Optional<String> near = Suggestions.nearest(name, lists.keySet());
        if (near.isPresent()) {
            return "unknown list '" + name + "' (did you mean '" + near.get() + "'?)";
        }
        return "unknown list '" + name + "' (known: "
                + String.join(", ", lists.keySet().stream().limit(NAMES_SHOWN).toList()) + ", …)";
    }
}
