package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.AlpnMatch;
import io.portcullis.policy.rule.Match;

import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/** {@code alpn: [h2, http/1.1, none]} — see {@link AlpnMatch}. */
final class AlpnParser implements MatchParser {

    /** RFC 7301: a protocol id is 1-255 bytes. */
    private static final int MAX_ID = 255;

    @Override
    public String key() {
        return AlpnMatch.KEY;
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        Problems problems = context.problems();
        Optional<SequenceNode> sequence = Nodes.nonEmptySequence(value, key(), "any protocol", problems);
        if (sequence.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        Set<String> protocols = new HashSet<>();
        boolean none = false;
        for (Node item : sequence.get().getValue()) {
            Optional<String> text = Nodes.string(item, problems);
            if (text.isEmpty()) {
                continue;
            }
            String id = text.get().strip();
            if (id.equals(AlpnMatch.NONE)) {
                none = true;
            } else if (id.isEmpty() || id.getBytes(StandardCharsets.UTF_8).length > MAX_ID) {
                problems.add(item, "bad ALPN protocol '" + text.get() + "' (expected an id of 1-255 bytes such as h2"
                        + " or http/1.1, or none)");
            } else {
                protocols.add(id);
            }
        }
        return problems.count() == before ? Optional.of(new AlpnMatch(protocols, none)) : Optional.empty();
    }
}
