package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.PortMatch;

import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.BitSet;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code port: [5432, "8000-8100"]} — destination ports and inclusive ranges; see {@link PortMatch}. */
final class PortParser implements MatchParser {

    private static final Pattern PORT_OR_RANGE = Pattern.compile("(\\d{1,5})(?:\\s*-\\s*(\\d{1,5}))?");
    private static final int MAX_PORT = 65535;

    @Override
    public String key() {
        return PortMatch.KEY;
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        Problems problems = context.problems();
        Optional<SequenceNode> sequence = Nodes.nonEmptySequence(value, key(), "any port", problems);
        if (sequence.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        BitSet ports = new BitSet(MAX_PORT + 1);
        for (Node item : sequence.get().getValue()) {
            Optional<String> text = Nodes.string(item, problems);
            if (text.isEmpty()) {
                continue;
            }
            Matcher m = PORT_OR_RANGE.matcher(text.get().strip());
            int first = m.matches() ? Integer.parseInt(m.group(1)) : -1;
            int last = m.matches() && m.group(2) != null ? Integer.parseInt(m.group(2)) : first;
            if (first < 1 || first > MAX_PORT || last < 1 || last > MAX_PORT) {
                problems.add(item, "bad port '" + text.get() + "' (expected a port 1-65535 or a range like \"8000-8100\")");
            } else if (first > last) {
                problems.add(item, "bad port range '" + text.get() + "' (the first port is after the last)");
            } else {
                ports.set(first, last + 1);
            }
        }
        return problems.count() == before ? Optional.of(new PortMatch(ports)) : Optional.empty();
    }
}
