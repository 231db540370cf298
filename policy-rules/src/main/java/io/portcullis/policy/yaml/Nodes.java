package io.portcullis.policy.yaml;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** Type checks on SnakeYAML nodes that report "expected …, got …" at the node's position. */
final class Nodes {

    private Nodes() {
    }

    /** A key of a mapping and its value. */
    record Entry(ScalarNode key, Node value) {

        String name() {
            return key.getValue();
        }
    }

    /** 1-based line where the node starts. */
    static int line(Node node) {
        return node.getStartMark().getLine() + 1;
    }

    /** 1-based column where the node starts. */
    static int column(Node node) {
        return node.getStartMark().getColumn() + 1;
    }

    static Optional<MappingNode> mapping(Node node, Problems problems) {
        if (node instanceof MappingNode mapping) {
            return Optional.of(mapping);
        }
        problems.add(node, "expected a mapping, got " + describe(node));
        return Optional.empty();
    }

    static Optional<SequenceNode> sequence(Node node, Problems problems) {
        if (node instanceof SequenceNode sequence) {
            return Optional.of(sequence);
        }
        problems.add(node, "expected a list, got " + describe(node));
        return Optional.empty();
    }

    /**
     * A list that is not empty; an empty one is reported as "empty '{key}' list: the rule could never
     * match (leave '{key}' out to match {anything})".
     */
    static Optional<SequenceNode> nonEmptySequence(Node node, String key, String anything, Problems problems) {
        Optional<SequenceNode> sequence = sequence(node, problems);
        if (sequence.isPresent() && sequence.get().getValue().isEmpty()) {
            problems.add(node, "empty '" + key + "' list: the rule could never match (leave '" + key
                    + "' out to match " + anything + ")");
            return Optional.empty();
        }
        return sequence;
    }

    /** The text of a scalar that is not empty/null. Numbers and booleans are taken as written. */
    static Optional<String> string(Node node, Problems problems) {
        if (node instanceof ScalarNode scalar && !isNull(scalar)) {
            return Optional.of(scalar.getValue());
        }
        problems.add(node, "expected a string, got " + describe(node));
        return Optional.empty();
    }

    /**
     * The entries of a mapping whose keys are a fixed set ({@code section}); unknown, duplicate and
     * non-string keys are reported and left out.
     */
    static Map<String, Entry> entries(MappingNode mapping, Section section, Problems problems) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            Optional<ScalarNode> key = key(tuple.getKeyNode(), problems);
            if (key.isEmpty()) {
                continue;
            }
            String name = key.get().getValue();
            if (!section.knows(name)) {
                problems.add(key.get(), section.unknownKeyMessage(name));
                continue;
            }
            Entry previous = entries.putIfAbsent(name, new Entry(key.get(), tuple.getValueNode()));
            if (previous != null) {
                problems.add(key.get(), "duplicate key '" + name + "' (first at line " + line(previous.key()) + ")");
            }
        }
        return entries;
    }

    /**
     * The entries of a mapping whose keys are names the user chooses (lists, listeners); a repeated
     * name is reported as "duplicate {what} 'name' (first defined at line N)" and left out.
     */
    static Map<String, Entry> namedEntries(MappingNode mapping, String what, Problems problems) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            if (problems.full()) {
                break;
            }
            Optional<ScalarNode> key = key(tuple.getKeyNode(), problems);
            if (key.isEmpty()) {
                continue;
            }
            String name = key.get().getValue();
            if (name.isEmpty()) {
                problems.add(key.get(), "empty " + what + " name");
                continue;
            }
            Entry previous = entries.putIfAbsent(name, new Entry(key.get(), tuple.getValueNode()));
            if (previous != null) {
                problems.add(key.get(), "duplicate " + what + " '" + name + "' (first defined at line "
                        + line(previous.key()) + ")");
            }
        }
        return entries;
    }

    private static Optional<ScalarNode> key(Node node, Problems problems) {
        if (node instanceof ScalarNode scalar && !isNull(scalar)) {
            return Optional.of(scalar);
        }
        problems.add(node, "expected a key name, got " + describe(node));
        return Optional.empty();
    }

    static boolean isNull(ScalarNode scalar) {
        return Tag.NULL.equals(scalar.getTag());
    }

    /** Whether the node carries an explicit application tag such as {@code !list:office}. */
    static boolean hasLocalTag(Node node) {
        return node.getTag() != null && !node.getTag().getValue().startsWith(Tag.PREFIX);
    }

    /** "a mapping", "a list", "a string", "an empty value" — for "expected …, got …". */
    static String describe(Node node) {
        if (node instanceof MappingNode) {
            return "a mapping";
        }
        if (node instanceof SequenceNode) {
            return "a list";
        }
        if (node instanceof ScalarNode scalar && isNull(scalar)) {
            return "an empty value";
        }
        return "a string";
    }
}
