package io.portcullis.policy.yaml;

import java.util.List;
import java.util.Set;

/**
 * The keys one mapping of {@code rules.yaml} may hold: the table a parser checks keys against, and
 * the source of "unknown key … (did you mean …?)" messages. {@code planned} keys are documented in
 * the design but not implemented yet; they get a clearer message than an unknown key.
 *
 * @param name    what the mapping is, for messages ("rule", "listener")
 * @param keys    the known keys, in the order the documentation lists them
 * @param planned keys reserved for later versions
 */
record Section(String name, List<String> keys, Set<String> planned) {

    static final Section TOP = new Section("policy", List.of("lists", "listeners"), Set.of());

    static final Section LISTENER = new Section("listener", List.of("rules", "default"), Set.of());

    static final Section LIST_FILE = new Section("list file", List.of(ListsParser.FILE), Set.of());

    static final Section TIME = new Section("time window", List.of("days", "from", "to", "zone"), Set.of());

    static final Section RATE_LIMIT = new Section("rate-limit",
            List.of("key", "rate", "burst", "scope", "on-store-failure"), Set.of());

    static final Section CONCURRENCY_LIMIT = new Section("concurrency-limit",
            List.of("key", "max", "scope", "on-store-failure"), Set.of());

    static final Section PROXY_TLV = new Section("pp-tlv", List.of("type", "values"), Set.of());

    Section {
        keys = List.copyOf(keys);
        planned = Set.copyOf(planned);
    }

    Section(String name, List<String> keys) {
        this(name, keys, Set.of());
    }

    boolean knows(String key) {
        return keys.contains(key);
    }

    /** The message for a key that is not in {@link #keys}. */
    String unknownKeyMessage(String key) {
        if (planned.contains(key)) {
            return "'" + key + "' is not supported yet in a " + name + " (expected one of: "
                    + String.join(", ", keys) + ")";
        }
        if (key.equals("<<")) {
            return "merge keys ('<<') are not supported";
        }
        return Suggestions.nearest(key, keys)
                .map(near -> "unknown key '" + key + "' (did you mean '" + near + "'?)")
                .orElseGet(() -> "unknown key '" + key + "' in a " + name + " (expected one of: "
                        + String.join(", ", keys) + ")");
    }
}
