package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.SniMatch;

import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/** {@code sni: [db.example.com, "*.example.com", none]} — see {@link SniMatch}. */
final class SniParser implements MatchParser {

    private static final String LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
    private static final Pattern NAME = Pattern.compile(LABEL + "(?:\\." + LABEL + ")*");
    private static final int MAX_NAME = 253;

    @Override
    public String key() {
        return SniMatch.KEY;
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        Problems problems = context.problems();
        Optional<SequenceNode> sequence = Nodes.nonEmptySequence(value, key(), "any server name", problems);
        if (sequence.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        Set<String> exact = new HashSet<>();
        List<String> wildcards = new ArrayList<>();
        boolean none = false;
        for (Node item : sequence.get().getValue()) {
            Optional<String> text = Nodes.string(item, problems);
            if (text.isEmpty()) {
                continue;
            }
            String name = text.get().strip().toLowerCase(Locale.ROOT);
            if (name.equals(SniMatch.NONE)) {
                none = true;
            } else if (name.startsWith("*.") && valid(name.substring(2))) {
                wildcards.add(name);
            } else if (valid(name)) {
                exact.add(name);
            } else {
                problems.add(item, "bad server name '" + text.get() + "' (expected a name like db.example.com,"
                        + " a wildcard like \"*.example.com\", or none)");
            }
        }
        return problems.count() == before ? Optional.of(new SniMatch(exact, wildcards, none)) : Optional.empty();
    }

    private static boolean valid(String name) {
        return name.length() <= MAX_NAME && NAME.matcher(name).matches();
    }
}
