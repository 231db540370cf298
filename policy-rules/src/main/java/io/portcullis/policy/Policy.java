package io.portcullis.policy;

import io.portcullis.policy.yaml.PolicyFile;
import io.portcullis.policy.yaml.PolicyParser;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A compiled {@code rules.yaml}: named address lists resolved, the rules of every listener ready
 * to evaluate. A policy is all-or-nothing: {@link #load} and {@link #parse} either return a policy
 * that validated completely or throw a {@link PolicyException} with every problem found.
 *
 * <p>Immutable and thread-safe; swap whole policies with {@link PolicyEngine#replace}.
 */
public final class Policy {

    private final String source;
    private final Map<String, ListenerPolicy> listeners;
    private final List<String> listNames;

    private Policy(String source, Map<String, ListenerPolicy> listeners, List<String> listNames) {
        this.source = source;
        this.listeners = listeners;
        this.listNames = listNames;
    }

    /**
     * Reads and compiles a policy file (UTF-8, at most 16 MiB). Errors name the file as given
     * ({@code file.toString()}), which is also {@link #source()}. Blocks on file I/O: call it off the
     * event loop. Any thread.
     */
    public static Policy load(Path file) throws PolicyException {
        String sourceName = file.toString();
        return PolicyParser.parse(PolicyFile.read(file, sourceName), sourceName);
    }

    /**
     * Compiles a policy from YAML text (at most 16 MiB); {@code sourceName} is used as the file in
     * error messages and as {@link #source()}. CPU-bound (large lists take a while): call it off the
     * event loop. Any thread.
     */
    public static Policy parse(String yaml, String sourceName) throws PolicyException {
        return PolicyParser.parse(yaml, sourceName);
    }

    /**
     * A policy built in code (tests, embedding), not from YAML.
     *
     * @throws IllegalArgumentException if two listener policies have the same listener name
     */
    public static Policy of(String source, Collection<ListenerPolicy> listeners, Collection<String> listNames) {
        Objects.requireNonNull(source, "source");
        Map<String, ListenerPolicy> byName = new LinkedHashMap<>();
        for (ListenerPolicy listener : listeners) {
            if (byName.putIfAbsent(listener.listener(), listener) != null) {
                throw new IllegalArgumentException("duplicate listener '" + listener.listener() + "'");
            }
        }
        return new Policy(source, Collections.unmodifiableMap(byName), List.copyOf(listNames));
    }

    /** The listener's section, if the policy has one. */
    public Optional<ListenerPolicy> listener(String name) {
        return Optional.ofNullable(listeners.get(name));
    }

    /** Allocation-free lookup for the engine's hot path. */
    ListenerPolicy listenerOrNull(String name) {
        return listeners.get(name);
    }

    /** Names of the listeners with a section, in file order. */
    public Set<String> listenerNames() {
        return listeners.keySet();
    }

    /** Names of the address lists defined under {@code lists}, in file order. */
    public List<String> listNames() {
        return listNames;
    }

    /** The file or source name this policy was read from. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "Policy[" + source + ", listeners=" + listeners.keySet() + "]";
    }
}
