package io.portcullis.policy.yaml;

import io.portcullis.policy.FileStamp;
import io.portcullis.policy.ListenerPolicy;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.PolicyOptions;
import io.portcullis.policy.limit.LimiterRegistry;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Compiles {@code rules.yaml} text into a {@link Policy}, or reports every problem (up to
 * {@link YamlLimits#MAX_ERRORS}) with its file:line:column. The {@code lists} section is read first,
 * wherever it stands in the file, so rules can refer to any list. Two phases: the whole file is
 * validated, and only then are limiter rules linked to their state in the registry, so a refused
 * file changes no limiter state. Any thread; no shared state besides the registry.
 */
public final class PolicyParser {

    static final String LISTS = "lists";
    static final String LISTENERS = "listeners";

    private PolicyParser() {
    }

    /**
     * @param text       the YAML text
     * @param sourceName the file name used in errors and as {@link Policy#source()}
     */
    public static Policy parse(String text, String sourceName) throws PolicyException {
        return parse(text, sourceName, PolicyOptions.defaults(), Optional.empty());
    }

    /**
     * @param text       the YAML text
     * @param sourceName the file name used in errors and as {@link Policy#source()}
     * @param options    limiter registry, clock, base directory of list files, match types
     * @param rulesFile  the file the text was read from, if any, stamped before it was read (first of
     *                   {@link Policy#files()})
     * @throws PolicyException with every problem, and the files read so far ({@link PolicyException#files()})
     */
    public static Policy parse(String text, String sourceName, PolicyOptions options, Optional<FileStamp> rulesFile)
            throws PolicyException {
        Problems problems = new Problems(sourceName);
        ParseContext context = new ParseContext(problems, options);
        rulesFile.ifPresent(context::addFile);
        try {
            return parse(text, context);
        } catch (PolicyException e) {
            throw new PolicyException(e.errors(), context.files());
        }
    }

    private static Policy parse(String text, ParseContext context) throws PolicyException {
        Problems problems = context.problems();
        if (text.length() > YamlLimits.MAX_SIZE) {
            problems.add(1, 1, "the policy is larger than " + (YamlLimits.MAX_SIZE >> 20) + " MiB; refusing to parse it");
            problems.throwIfAny();
        }
        String yaml = text.startsWith("\uFEFF") ? text.substring(1) : text;
        Optional<Node> root = YamlComposer.compose(yaml, problems);
        problems.throwIfAny();
        if (root.isEmpty()) {
            problems.add(1, 1, "the policy is empty (expected a mapping with 'listeners')");
            problems.throwIfAny();
        }
        Optional<Policy> policy = compile(root.orElseThrow(), context);
        problems.throwIfAny();
        return policy.orElseThrow();
    }

    private static Optional<Policy> compile(Node root, ParseContext context) {
        Problems problems = context.problems();
        Optional<MappingNode> top = Nodes.mapping(root, problems);
        if (top.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Nodes.Entry> entries = Nodes.entries(top.get(), Section.TOP, problems);

        Nodes.Entry listsEntry = entries.get(LISTS);
        if (listsEntry != null) {
            context.lists(ListsParser.parse(listsEntry.value(), context));
        }

        List<ListenerParser.Draft> listeners = new ArrayList<>();
        Nodes.Entry listenersEntry = entries.get(LISTENERS);
        if (listenersEntry == null) {
            problems.add(root, "missing required key 'listeners'");
        } else {
            Optional<MappingNode> mapping = Nodes.mapping(listenersEntry.value(), problems);
            if (mapping.isPresent()) {
                ListenerParser parser = new ListenerParser(context);
                for (Nodes.Entry entry : Nodes.namedEntries(mapping.get(), "listener", problems).values()) {
                    if (problems.full()) {
                        break;
                    }
                    parser.parse(entry).ifPresent(listeners::add);
                }
            }
        }
        if (problems.count() > 0) {
            return Optional.empty();
        }
        LimiterRegistry limiters = context.options().limiters().orElseGet(LimiterRegistry::new);
        List<ListenerPolicy> linked = listeners.stream().map(draft -> draft.link(limiters)).toList();
        return Optional.of(Policy.of(problems.file(), linked, context.lists().keySet(), context.files(), limiters));
    }
}
