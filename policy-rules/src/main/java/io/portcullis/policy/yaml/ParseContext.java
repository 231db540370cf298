package io.portcullis.policy.yaml;

import io.portcullis.policy.PolicyOptions;

import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the parsers of one policy share: the problem collector, the options, the address lists
 * defined in the {@code lists} section (by name, in file order, once that section is read), and the
 * files read so far. One per parse; not thread-safe.
 */
final class ParseContext {

    private final Problems problems;
    private final PolicyOptions options;
    private final Path baseDirectory;
    private final Set<Path> files = new LinkedHashSet<>();
    private Map<String, NamedList> lists = Map.of();

    ParseContext(Problems problems, PolicyOptions options) {
        this.problems = problems;
        this.options = options;
        this.baseDirectory = options.baseDirectory().orElse(Path.of(""));
    }

    Problems problems() {
        return problems;
    }

    Map<String, NamedList> lists() {
        return lists;
    }

    void lists(Map<String, NamedList> lists) {
        this.lists = lists;
    }

    Clock clock() {
        return options.clock();
    }

    PolicyOptions options() {
        return options;
    }

    /** Where a relative list file path starts. */
    Path baseDirectory() {
        return baseDirectory;
    }

    /** Records a file the policy is built from. */
    void addFile(Path file) {
        files.add(file.toAbsolutePath().normalize());
    }

    List<Path> files() {
        return List.copyOf(files);
    }
}
