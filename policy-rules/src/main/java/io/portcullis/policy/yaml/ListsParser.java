package io.portcullis.policy.yaml;


import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code lists} section: {@code NAME: [CIDR or address, ...]}, {@code NAME: [JA4 fingerprint, ...]}
 * or {@code NAME: {file: PATH}} (see {@link ListFile}; a relative PATH starts at the rules file's
 * directory). A list holds one kind of entry ({@link ListContents}). A list with a bad entry is
 * still defined (with its good entries), so rules that refer to it do not add "unknown list" errors.
 */
final class ListsParser {

    static final String FILE = "file";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private ListsParser() {
    }

    /** The lists by name, in file order. */
    static Map<String, NamedList> parse(Node section, ParseContext context) {
        Problems problems = context.problems();
        Map<String, NamedList> lists = new LinkedHashMap<>();
        Optional<MappingNode> mapping = Nodes.mapping(section, problems);
        if (mapping.isEmpty()) {
            return lists;
        }
        // an alias (*name) repeats a node: compile it once
        Map<Node, NamedList> compiled = new IdentityHashMap<>();
        for (Nodes.Entry entry : Nodes.namedEntries(mapping.get(), "list", problems).values()) {
            String name = entry.name();
            if (!NAME.matcher(name).matches()) {
                problems.add(entry.key(), "invalid list name '" + name + "' (use letters, digits, '.', '_' and '-')");
                continue;
            }
            NamedList first = compiled.get(entry.value());
            ListContents contents = first == null ? contents(entry, context) : null;
            NamedList list = first == null
                    ? new NamedList(name, contents.addresses(), contents.fingerprints(), Nodes.line(entry.key()))
                    : new NamedList(name, first.addresses(), first.fingerprints(), Nodes.line(entry.key()));
            compiled.putIfAbsent(entry.value(), list);
            lists.put(name, list);
        }
        return lists;
    }

    private static ListContents contents(Nodes.Entry list, ParseContext context) {
        Problems problems = context.problems();
        Node value = list.value();
        if (value instanceof MappingNode mapping) {
            return file(list, mapping, context);
        }
        ListContents contents = new ListContents();
        Optional<SequenceNode> sequence = Nodes.sequence(value, problems);
        if (sequence.isEmpty()) {
            return contents;
        }
        for (Node item : sequence.get().getValue()) {
            if (problems.full()) {
                break;
            }
            Optional<String> text = Nodes.string(item, problems);
            if (text.isEmpty()) {
                continue;
            }
            contents.add(text.get().strip(), Nodes.line(item)).ifPresent(problem -> problems.add(item, problem));
        }
        return contents;
    }

    private static ListContents file(Nodes.Entry entry, MappingNode mapping, ParseContext context) {
        Problems problems = context.problems();
        Map<String, Nodes.Entry> keys = Nodes.entries(mapping, Section.LIST_FILE, problems);
        Nodes.Entry fileEntry = keys.get(FILE);
        if (fileEntry == null) {
            problems.add(mapping, "missing required key 'file' in list '" + entry.name() + "'");
            return new ListContents();
        }
        Optional<String> written = Nodes.string(fileEntry.value(), problems);
        if (written.isEmpty()) {
            return new ListContents();
        }
        Path path;
        try {
            path = context.baseDirectory().resolve(written.get().strip()).normalize();
        } catch (InvalidPathException e) {
            problems.add(fileEntry.value(), "invalid list file path '" + written.get() + "': " + e.getReason());
            return new ListContents();
        }
        String displayName = path.toString();
        context.addFile(path);
        ListFile.Result result = ListFile.read(path, displayName, problems);
        result.unreadable().ifPresent(reason ->
                problems.add(fileEntry.value(), "cannot read list file '" + displayName + "': " + reason));
        return result.contents();
    }
}
