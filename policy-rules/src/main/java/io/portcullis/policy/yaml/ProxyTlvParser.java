package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.ProxyTlvMatch;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code pp-tlv: {type: 0xEA, values: [vpce-0123abcd]}}, or a list of such mappings that must all hold;
 * see {@link ProxyTlvMatch}. The type is 0-255, decimal or hex ({@code 0xEA}; YAML reads it unquoted as
 * a number, quoted as text, and both are taken as written). Values are compared with the decoded TLV
 * (printable ASCII as text, other bytes as {@code hex:} and lower-case hex digits), so a value that no
 * TLV can decode to is an error rather than a rule that never matches.
 */
final class ProxyTlvParser implements MatchParser {

    static final String TYPE = "type";
    static final String VALUES = "values";

    private static final Pattern DECIMAL = Pattern.compile("0|[1-9][0-9]{0,2}");
    private static final Pattern HEX = Pattern.compile("0[xX][0-9a-fA-F]{1,2}");
    private static final String HEX_PREFIX = "hex:";
    /** A TLV's value is at most 65535 bytes; as hex, twice that after the prefix. */
    private static final int MAX_VALUE = HEX_PREFIX.length() + 2 * 65535;
    private static final String EXAMPLE = "{type: 0xEA, values: [vpce-0123abcd]}";

    @Override
    public String key() {
        return ProxyTlvMatch.KEY;
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        Problems problems = context.problems();
        // counted before the items' type checks too: a list of non-mappings leaves no condition at all
        int before = problems.count();
        List<MappingNode> conditions = new ArrayList<>();
        if (value instanceof MappingNode mapping) {
            conditions.add(mapping);
        } else if (value instanceof SequenceNode sequence) {
            if (sequence.getValue().isEmpty()) {
                problems.add(value, "empty 'pp-tlv' list: give a mapping such as " + EXAMPLE
                        + " (leave 'pp-tlv' out to match any header)");
                return Optional.empty();
            }
            for (Node item : sequence.getValue()) {
                Nodes.mapping(item, problems).ifPresent(conditions::add);
            }
        } else {
            problems.add(value, "expected a mapping such as " + EXAMPLE + " or a list of them, got "
                    + Nodes.describe(value));
            return Optional.empty();
        }
        List<ProxyTlvMatch.Tlv> tlvs = new ArrayList<>();
        Map<Integer, Integer> typeLines = new HashMap<>();
        for (MappingNode condition : conditions) {
            if (problems.full()) {
                break;
            }
            tlv(condition, typeLines, problems).ifPresent(tlvs::add);
        }
        if (problems.count() != before || tlvs.size() != conditions.size()) {
            return Optional.empty();
        }
        return Optional.of(new ProxyTlvMatch(tlvs));
    }

    private static Optional<ProxyTlvMatch.Tlv> tlv(MappingNode condition, Map<Integer, Integer> typeLines,
                                                 Problems problems) {
        Map<String, Nodes.Entry> entries = Nodes.entries(condition, Section.PROXY_TLV, problems);
        Nodes.Entry typeEntry = entries.get(TYPE);
        Nodes.Entry valuesEntry = entries.get(VALUES);
        if (typeEntry == null) {
            problems.add(condition, "missing required key 'type' in pp-tlv (e.g. type: 0xEA)");
        }
        if (valuesEntry == null) {
            problems.add(condition, "missing required key 'values' in pp-tlv (e.g. values: [vpce-0123abcd])");
        }
        Optional<Integer> type = typeEntry == null ? Optional.empty() : type(typeEntry.value(), problems);
        if (type.isPresent()) {
            Integer first = typeLines.putIfAbsent(type.get(), Nodes.line(typeEntry.value()));
            if (first != null) {
                problems.add(typeEntry.value(), "TLV type " + hex(type.get()) + " is given twice (first at line "
                        + first + "); the values of one type are alternatives: put them in one 'values' list");
                type = Optional.empty();
            }
        }
        Optional<Set<String>> values = valuesEntry == null ? Optional.empty() : values(valuesEntry.value(), problems);
        if (type.isEmpty() || values.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ProxyTlvMatch.Tlv(type.get(), values.get()));
    }

    private static Optional<Integer> type(Node node, Problems problems) {
        Optional<String> text = Nodes.string(node, problems);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String written = text.get().strip();
        int type = -1;
        if (DECIMAL.matcher(written).matches()) {
            type = Integer.parseInt(written);
        } else if (HEX.matcher(written).matches()) {
            type = Integer.parseInt(written.substring(2), 16);
        }
        if (type < 0 || type > 255) {
            problems.add(node, "bad TLV type '" + text.get() + "' (expected 0-255, in decimal such as 234 or in hex"
                    + " such as 0xEA)");
            return Optional.empty();
        }
        return Optional.of(type);
    }

    private static Optional<Set<String>> values(Node node, Problems problems) {
        Optional<SequenceNode> sequence = Nodes.sequence(node, problems);
        if (sequence.isEmpty()) {
            return Optional.empty();
        }
        if (sequence.get().getValue().isEmpty()) {
            problems.add(node, "empty 'values' list: the rule could never match (give at least one value)");
            return Optional.empty();
        }
        int before = problems.count();
        Set<String> values = new LinkedHashSet<>();
        for (Node item : sequence.get().getValue()) {
            if (problems.full()) {
                break;
            }
            Optional<String> text = Nodes.string(item, problems);
            if (text.isEmpty()) {
                continue;
            }
            String entry = text.get();
            Optional<String> problem = problem(entry);
            if (problem.isPresent()) {
                problems.add(item, "bad TLV value '" + Problems.shown(entry) + "': " + problem.get());
            } else {
                values.add(entry);
            }
        }
        return problems.count() == before ? Optional.of(values) : Optional.empty();
    }

    /** Why no decoded TLV can equal {@code value}; empty when one can. */
    private static Optional<String> problem(String value) {
        if (value.isEmpty()) {
            return Optional.of("a TLV value is not empty");
        }
        if (value.length() > MAX_VALUE) {
            return Optional.of("longer than any TLV value (65535 bytes)");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c > 0x7E) {
                return Optional.of("TLV values are printable ASCII, or hex: and lower-case hex digits for other bytes");
            }
        }
        if (value.startsWith(HEX_PREFIX)) {
            String digits = value.substring(HEX_PREFIX.length());
            if (digits.isEmpty() || digits.length() % 2 != 0 || !digits.chars().allMatch(ProxyTlvParser::lowerHex)) {
                String lower = digits.toLowerCase(Locale.ROOT);
                boolean upper = !digits.equals(lower) && lower.chars().allMatch(ProxyTlvParser::lowerHex)
                        && digits.length() % 2 == 0 && !digits.isEmpty();
                return Optional.of(upper ? "hex digits are lower case: '" + HEX_PREFIX + lower + "'"
                        : "expected hex: and an even number of hex digits");
            }
        }
        return Optional.empty();
    }

    private static boolean lowerHex(int c) {
        return c >= '0' && c <= '9' || c >= 'a' && c <= 'f';
    }

    private static String hex(int type) {
        return String.format("0x%02X", type);
    }
}
