package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.Match;

import org.yaml.snakeyaml.nodes.Node;

import java.util.Optional;

/**
 * Compiles one condition key of a rule (e.g. {@code source}) into a {@link Match}. Each condition
 * kind has one parser, listed in {@link RuleParser}; adding a kind means adding a parser there.
 */
interface MatchParser {

    /** The rule key this parser reads. */
    String key();

    /**
     * The compiled condition, or empty after reporting what is wrong to {@code context.problems()}.
     *
     * @param value the key's value node
     */
    Optional<Match> parse(Node value, ParseContext context);
}
