package io.portcullis.policy;

import io.portcullis.policy.limit.Limiter;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.yaml.PolicyFile;
import io.portcullis.policy.yaml.PolicyParser;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A compiled {@code rules.yaml}: named address lists resolved (list files read), the rules of every
 * listener ready to evaluate, limiters linked to their state in a {@link LimiterRegistry}. A policy is
 * all-or-nothing: {@link #load} and {@link #parse} either return a policy that validated completely or
 * throw a {@link PolicyException} with every problem found.
 *
 * <p>Immutable and thread-safe (limiter state is shared through the registry); swap whole policies
 * with {@link PolicyEngine#replace}.
 */
public final class Policy {

    private final String source;
    private final Map<String, ListenerPolicy> listeners;
    private final List<String> listNames;
    private final List<FileStamp> fileStamps;
    private final List<Path> files;
    private final LimiterRegistry limiterRegistry;

    private Policy(String source, Map<String, ListenerPolicy> listeners, List<String> listNames,
                   List<FileStamp> fileStamps, LimiterRegistry limiterRegistry) {
        this.source = source;
        this.listeners = listeners;
        this.listNames = listNames;
        this.fileStamps = fileStamps;
        this.files = fileStamps.stream().map(FileStamp::path).toList();
        this.limiterRegistry = limiterRegistry;
    }

    /**
     * Reads and compiles a policy file (UTF-8, at most 16 MiB) and the list files it names, with a
     * fresh limiter registry. Errors name the file as given ({@code file.toString()}), which is also
     * {@link #source()}. Blocks on file I/O: call it off the event loop. Any thread.
     */
    public static Policy load(Path file) throws PolicyException {
        return load(file, PolicyOptions.defaults());
    }

    /**
     * As {@link #load(Path)}, with limiter state in {@code limiters}: pass the same registry on every
     * reload so that limits survive it.
     */
    public static Policy load(Path file, LimiterRegistry limiters) throws PolicyException {
        return load(file, PolicyOptions.defaults().withLimiters(limiters));
    }

    /**
     * As {@link #load(Path)}, with options. Relative list files always start at the rules file's
     * directory ({@link PolicyOptions#baseDirectory()} applies to {@link #parse} only).
     */
    public static Policy load(Path file, PolicyOptions options) throws PolicyException {
        String sourceName = file.toString();
        // list files named in a file are relative to that file, whatever base directory the options carry
        PolicyOptions resolved = options.withBaseDirectory(file.getParent() == null ? Path.of("") : file.getParent());
        // stamped before reading: a change made while the file is read must not pass for what was read
        FileStamp stamp = FileStamp.of(file);
        String text;
        try {
            text = PolicyFile.read(file, sourceName);
        } catch (PolicyException e) {
            throw new PolicyException(e.errors(), List.of(stamp));
        }
        return PolicyParser.parse(text, sourceName, resolved, Optional.of(stamp));
    }

    /**
     * Compiles a policy from YAML text (at most 16 MiB); {@code sourceName} is used as the file in
     * error messages and as {@link #source()}. Relative list files start at the working directory.
     * CPU-bound (large lists take a while) and reads list files: call it off the event loop. Any thread.
     */
    public static Policy parse(String yaml, String sourceName) throws PolicyException {
        return parse(yaml, sourceName, PolicyOptions.defaults());
    }

    /** As {@link #parse(String, String)}, with limiter state in {@code limiters}. */
    public static Policy parse(String yaml, String sourceName, LimiterRegistry limiters) throws PolicyException {
        return parse(yaml, sourceName, PolicyOptions.defaults().withLimiters(limiters));
    }

    /** As {@link #parse(String, String)}, with options. */
    public static Policy parse(String yaml, String sourceName, PolicyOptions options) throws PolicyException {
        return PolicyParser.parse(yaml, sourceName, options, Optional.empty());
    }

    /**
     * A policy built in code (tests, embedding) or by the compiler. Its limiter rules must have been
     * linked through {@code limiters}.
     *
     * @param files the files it was built from, each stamped just before it was read (see {@link #fileStamps()})
     * @throws IllegalArgumentException if two listener policies have the same listener name
     */
    public static Policy of(String source, Collection<ListenerPolicy> listeners, Collection<String> listNames,
                            List<FileStamp> files, LimiterRegistry limiters) {
        Objects.requireNonNull(source, "source");
        Map<String, ListenerPolicy> byName = new LinkedHashMap<>();
        for (ListenerPolicy listener : listeners) {
            if (byName.putIfAbsent(listener.listener(), listener) != null) {
                throw new IllegalArgumentException("duplicate listener '" + listener.listener() + "'");
            }
        }
        return new Policy(source, Collections.unmodifiableMap(byName), List.copyOf(listNames), List.copyOf(files),
                Objects.requireNonNull(limiters, "limiters"));
    }

    /** A policy built in code, without limiter rules or files. */
    public static Policy of(String source, Collection<ListenerPolicy> listeners, Collection<String> listNames) {
        return of(source, listeners, listNames, List.of(), new LimiterRegistry());
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

    /**
     * The files this policy was built from, absolute and normalized (not resolved through symlinks):
     * the rules file (when {@link #load loaded}) first, then each list file once, in file order. A
     * change to any of them calls for a reload.
     */
    public List<Path> files() {
        return files;
    }

    /**
     * {@link #files()} with what each looked like just before it was read. A watcher compares these
     * with fresh stamps: a file changed while the policy was read differs, so it is read again.
     */
    public List<FileStamp> fileStamps() {
        return fileStamps;
    }

    /** Where this policy's limiter state lives. */
    public LimiterRegistry limiterRegistry() {
        return limiterRegistry;
    }

    /** Every limiter of every listener (what {@link LimiterRegistry#retainOnly} keeps for this policy). */
    public List<Limiter> limiters() {
        List<Limiter> all = new ArrayList<>();
        listeners.values().forEach(listener -> all.addAll(listener.limiters()));
        return all;
    }

    /** Number of rules over all listeners. */
    public int ruleCount() {
        return listeners.values().stream().mapToInt(listener -> listener.ruleNames().size()).sum();
    }

    @Override
    public String toString() {
        return "Policy[" + source + ", listeners=" + listeners.keySet() + "]";
    }
}
