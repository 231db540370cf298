package io.portcullis.policy.yaml;

import io.portcullis.policy.FileStamp;
import io.portcullis.policy.PolicyOptions;

import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the parsers of one policy share: the problem collector, the options, the address lists
 * defined in the {@code lists} section (by name, in file order, once that section is read), and the
 * files read so far, each stamped before it was first read. One per parse; not thread-safe.
 */
final class ParseContext {

    private final Problems problems;
    private final PolicyOptions options;
    private final Path baseDirectory;
    private final Map<Path, FileStamp> files = new LinkedHashMap<>();
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

    /** Records a file the policy is built from. Call it just before reading the file: it stamps it. */
    void addFile(Path file) {
        files.computeIfAbsent(file.toAbsolutePath().normalize(), FileStamp::of);
    }

    /** Records a file already stamped (the rules file, stamped before its text was read). */
    void addFile(FileStamp stamp) {
        files.putIfAbsent(stamp.path(), stamp);
    }

    /** The files so far, in the order first named, each stamped before it was first read. */
    List<FileStamp> files() {
        return List.copyOf(files.values());
    }
}
