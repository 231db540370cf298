package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.MatchValue;
import io.portcullis.policy.rule.MatchValueException;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A SnakeYAML node seen through the {@link MatchValue} interface that custom match types get. */
final class NodeValue implements MatchValue {

    private final Node node;

    NodeValue(Node node) {
        this.node = node;
    }

    @Override
    public int line() {
        return node.getStartMark().getLine() + 1;
    }

    @Override
    public int column() {
        return node.getStartMark().getColumn() + 1;
    }

    @Override
    public boolean isString() {
        return node instanceof ScalarNode scalar && !Nodes.isNull(scalar);
    }

    @Override
    public boolean isList() {
        return node instanceof SequenceNode;
    }

    @Override
    public boolean isMapping() {
        return node instanceof MappingNode;
    }

    @Override
    public String asString() throws MatchValueException {
        if (node instanceof ScalarNode scalar && !Nodes.isNull(scalar)) {
            return scalar.getValue();
        }
        throw problem("expected a string, got " + Nodes.describe(node));
    }

    @Override
    public List<MatchValue> asList() throws MatchValueException {
        if (node instanceof SequenceNode sequence) {
            List<MatchValue> items = new ArrayList<>();
            sequence.getValue().forEach(item -> items.add(new NodeValue(item)));
            return Collections.unmodifiableList(items);
        }
        throw problem("expected a list, got " + Nodes.describe(node));
    }

    @Override
    public Map<String, MatchValue> asMapping() throws MatchValueException {
        if (!(node instanceof MappingNode mapping)) {
            throw problem("expected a mapping, got " + Nodes.describe(node));
        }
        Map<String, MatchValue> entries = new LinkedHashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            if (!(tuple.getKeyNode() instanceof ScalarNode key) || Nodes.isNull(key)) {
                throw new NodeValue(tuple.getKeyNode()).problem("expected a key name, got "
                        + Nodes.describe(tuple.getKeyNode()));
            }
            if (entries.putIfAbsent(key.getValue(), new NodeValue(tuple.getValueNode())) != null) {
                throw new NodeValue(key).problem("duplicate key '" + key.getValue() + "'");
            }
        }
        return Collections.unmodifiableMap(entries);
    }

    @Override
    public String toString() {
        return "MatchValue[" + line() + ":" + column() + ", " + Nodes.describe(node) + "]";
    }
}
