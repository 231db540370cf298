package io.portcullis.policy.yaml;

import io.portcullis.policy.net.CidrFormatException;
import io.portcullis.policy.net.CidrSet;

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
 * The {@code lists} section: {@code NAME: [CIDR or address, ...]} or {@code NAME: {file: PATH}} (see
 * {@link ListFile}; a relative PATH starts at the rules file's directory). A list with a bad entry is
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
        Map<Node, CidrSet> compiled = new IdentityHashMap<>();
        for (Nodes.Entry entry : Nodes.namedEntries(mapping.get(), "list", problems).values()) {
            String name = entry.name();
            if (!NAME.matcher(name).matches()) {
                problems.add(entry.key(), "invalid list name '" + name + "' (use letters, digits, '.', '_' and '-')");
                continue;
            }
            CidrSet addresses = compiled.get(entry.value());
            if (addresses == null) {
                addresses = addresses(entry, context);
                compiled.put(entry.value(), addresses);
            }
            lists.put(name, new NamedList(name, addresses, Nodes.line(entry.key())));
        }
        return lists;
    }

    private static CidrSet addresses(Nodes.Entry list, ParseContext context) {
        Problems problems = context.problems();
        Node value = list.value();
        if (value instanceof MappingNode mapping) {
            return file(list, mapping, context);
        }
        Optional<SequenceNode> sequence = Nodes.sequence(value, problems);
        if (sequence.isEmpty()) {
            return CidrSet.empty();
        }
        CidrSet.Builder builder = CidrSet.builder();
        for (Node item : sequence.get().getValue()) {
            if (problems.full()) {
                break;
            }
            Optional<String> text = Nodes.string(item, problems);
            if (text.isEmpty()) {
                continue;
            }
            String entry = text.get().strip();
            if (entry.startsWith(SourceParser.LIST_PREFIX) || entry.startsWith(SourceParser.NOT)) {
                problems.add(item, "a list holds addresses and CIDRs only; it cannot refer to another list ('"
                        + entry + "')");
                continue;
            }
            try {
                builder.add(entry);
            } catch (CidrFormatException e) {
                problems.add(item, e.getMessage());
            }
        }
        return builder.build();
    }

    private static CidrSet file(Nodes.Entry entry, MappingNode mapping, ParseContext context) {
        Problems problems = context.problems();
        Map<String, Nodes.Entry> keys = Nodes.entries(mapping, Section.LIST_FILE, problems);
        Nodes.Entry fileEntry = keys.get(FILE);
        if (fileEntry == null) {
            problems.add(mapping, "missing required key 'file' in list '" + entry.name() + "'");
            return CidrSet.empty();
        }
        Optional<String> written = Nodes.string(fileEntry.value(), problems);
        if (written.isEmpty()) {
            return CidrSet.empty();
        }
        Path path;
        try {
            path = context.baseDirectory().resolve(written.get().strip()).normalize();
        } catch (InvalidPathException e) {
            problems.add(fileEntry.value(), "invalid list file path '" + written.get() + "': " + e.getReason());
            return CidrSet.empty();
        }
        String displayName = path.toString();
        context.addFile(path);
        ListFile.Result result = ListFile.read(path, displayName, problems);
        result.unreadable().ifPresent(reason ->
                problems.add(fileEntry.value(), "cannot read list file '" + displayName + "': " + reason));
        return result.addresses();
    }
}
