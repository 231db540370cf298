package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.MatchType;
import io.portcullis.policy.rule.MatchValueException;

import org.yaml.snakeyaml.nodes.Node;

import java.util.Optional;

/** A rule key served by a custom {@link MatchType}; its exceptions become positioned problems. */
final class CustomMatchParser implements MatchParser {

    private final MatchType type;

    CustomMatchParser(MatchType type) {
        this.type = type;
    }

    @Override
    public String key() {
        return type.key();
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        try {
            Match match = type.parse(new NodeValue(value));
            if (match == null) {
                context.problems().add(value, "match type '" + type.key() + "' (" + type.getClass().getName()
                        + ") returned no condition");
                return Optional.empty();
            }
            return Optional.of(match);
        } catch (MatchValueException e) {
            context.problems().add(e.line(), e.column(), e.getMessage());
        } catch (RuntimeException e) {
            context.problems().add(value, "match type '" + type.key() + "' (" + type.getClass().getName()
                    + ") failed: " + e);
        }
        return Optional.empty();
    }
}
