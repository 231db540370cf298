package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.NamePattern;
import io.portcullis.policy.rule.ProxyAuthorityMatch;
import io.portcullis.policy.rule.SniMatch;

import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Host-name lists, one parser for both keys that take them, so they accept and mean the same (see
 * {@link NamePattern}): {@code sni: [db.example.com, "*.example.com", none]} ({@link SniMatch}) and
 * {@code pp-authority: [...]} ({@link ProxyAuthorityMatch}).
 */
final class NamePatternParser implements MatchParser {

    private static final String LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
    private static final Pattern NAME = Pattern.compile(LABEL + "(?:\\." + LABEL + ")*");
    private static final int MAX_NAME = 253;

    private final String key;
    private final String what;
    private final Function<NamePattern, Match> match;

    private NamePatternParser(String key, String what, Function<NamePattern, Match> match) {
        this.key = key;
        this.what = what;
        this.match = match;
    }

    /** {@code sni}: the ClientHello's server name. */
    static NamePatternParser sni() {
        return new NamePatternParser(SniMatch.KEY, "server name", SniMatch::new);
    }

    /** {@code pp-authority}: the PROXY header's authority TLV. */
    static NamePatternParser proxyAuthority() {
        return new NamePatternParser(ProxyAuthorityMatch.KEY, "authority", ProxyAuthorityMatch::new);
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        Problems problems = context.problems();
        Optional<SequenceNode> sequence = Nodes.nonEmptySequence(value, key(), "any " + what, problems);
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
            if (name.equals(NamePattern.NONE)) {
                none = true;
            } else if (name.startsWith("*.") && valid(name.substring(2))) {
                wildcards.add(name);
            } else if (valid(name)) {
                exact.add(name);
            } else {
                problems.add(item, "bad " + what + " '" + text.get() + "' (expected a name like db.example.com,"
                        + " a wildcard like \"*.example.com\", or none)");
            }
        }
        if (problems.count() != before) {
            return Optional.empty();
        }
        return Optional.of(match.apply(new NamePattern(exact, wildcards, none)));
    }

    private static boolean valid(String name) {
        return name.length() <= MAX_NAME && NAME.matcher(name).matches();
    }
}
