package io.portcullis.policy.yaml;

import io.portcullis.policy.model.InspectAction;

import org.yaml.snakeyaml.nodes.Node;

import java.util.Optional;

/** Reads an action ({@code accept | reject | pend}) for {@code action} and {@code default}. */
final class Actions {

    private Actions() {
    }

    static Optional<InspectAction> parse(Node node, Problems problems) {
        Optional<String> text = Nodes.string(node, problems);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        for (InspectAction action : InspectAction.values()) {
            if (action.label().equals(text.get())) {
                return Optional.of(action);
            }
        }
        problems.add(node, "unknown action '" + text.get() + "' (expected accept, reject or pend)");
        return Optional.empty();
    }
}
