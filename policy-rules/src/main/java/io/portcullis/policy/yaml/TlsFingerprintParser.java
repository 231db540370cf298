package io.portcullis.policy.yaml;

import io.portcullis.policy.fingerprint.FingerprintSet;
import io.portcullis.policy.fingerprint.Ja4;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.TlsFingerprintMatch;

import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code tls-fingerprint: [t13d1516h2_8daaf6152771_e5627efa2ab1, list:bad-bots, none]} — JA4
 * fingerprints (any case), references to lists of fingerprints, and {@code none}; see
 * {@link TlsFingerprintMatch}.
 */
final class TlsFingerprintParser implements MatchParser {

    @Override
    public String key() {
        return TlsFingerprintMatch.KEY;
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        Problems problems = context.problems();
        Optional<SequenceNode> sequence = Nodes.nonEmptySequence(value, key(), "any client", problems);
        if (sequence.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        FingerprintSet.Builder fingerprints = FingerprintSet.builder();
        List<FingerprintSet> lists = new ArrayList<>();
        boolean none = false;
        for (Node item : sequence.get().getValue()) {
            if (problems.full()) {
                break;
            }
            if (item instanceof ScalarNode && Nodes.hasLocalTag(item)) {
                problems.add(item, "YAML reads " + item.getTag().getValue() + " as a tag; tls-fingerprint entries"
                        + " cannot be negated (write a rule that matches them before this one)");
                continue;
            }
            Optional<String> text = Nodes.string(item, problems);
            if (text.isEmpty()) {
                continue;
            }
            String entry = text.get().strip();
            if (entry.equals(TlsFingerprintMatch.NONE)) {
                none = true;
            } else if (entry.startsWith(SourceParser.LIST_PREFIX)) {
                SourceParser.reference(entry.substring(SourceParser.LIST_PREFIX.length()), item, context, key(),
                        ListContents.Kind.FINGERPRINTS).ifPresent(list -> lists.add(list.fingerprints()));
            } else if (entry.startsWith(SourceParser.NOT)) {
                problems.add(item, "tls-fingerprint entries cannot be negated ('" + entry + "'); write a rule that"
                        + " matches them before this one");
            } else {
                Optional<String> problem = Ja4.problem(entry);
                if (problem.isPresent()) {
                    problems.add(item, "bad JA4 fingerprint '" + entry + "': " + problem.get() + " (expected a"
                            + " fingerprint like " + Ja4.EXAMPLE + ", list:NAME or none)");
                } else {
                    fingerprints.add(entry);
                }
            }
        }
        if (problems.count() != before) {
            return Optional.empty();
        }
        FingerprintSet all;
        if (fingerprints.count() == 0 && lists.size() == 1) {
            all = lists.get(0); // share the list's set instead of copying it
        } else {
            lists.forEach(fingerprints::addAll);
            all = fingerprints.build();
        }
        return Optional.of(new TlsFingerprintMatch(all, none));
    }
}
