package io.portcullis.policy.yaml;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.CollectionEndEvent;
import org.yaml.snakeyaml.events.CollectionStartEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.ScalarEvent;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.ReaderException;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Turns YAML text into SnakeYAML's node graph, which keeps the position of every value.
 *
 * <p>Only the composer runs — no constructor, so no tag can create an object. The loader options
 * bound what a hostile file can do: aliases to collections ({@link YamlLimits#MAX_COLLECTION_ALIASES},
 * the "billion laughs" attack), nesting depth, recursive keys, and total size. When SnakeYAML stops on
 * a bound without a position, the text is scanned again event by event to find where.
 */
final class YamlComposer {

    private YamlComposer() {
    }

    /**
     * The single document's root node; empty when the text holds no document (empty or comments
     * only) or when it is not valid YAML, in which case the problem is reported.
     */
    static Optional<Node> compose(String text, Problems problems) {
        try {
            Composer composer = new Composer(new ParserImpl(new StreamReader(text), options()), new Resolver(), options());
            return Optional.ofNullable(composer.getSingleNode());
        } catch (MarkedYAMLException e) {
            reportSyntaxError(e, problems);
        } catch (ReaderException e) {
            int[] position = position(text, e.getPosition());
            problems.add(position[0], position[1],
                    String.format("invalid YAML: character U+%04X is not allowed", e.getCodePoint()));
        } catch (YAMLException e) {
            Optional<LimitHit> hit = findLimit(text);
            if (hit.isPresent()) {
                problems.add(hit.get().mark(), hit.get().message());
            } else {
                problems.add(1, 1, "invalid YAML: " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    private static LoaderOptions options() {
        LoaderOptions options = new LoaderOptions();
        options.setMaxAliasesForCollections(YamlLimits.MAX_COLLECTION_ALIASES);
        options.setAllowRecursiveKeys(false);
        options.setNestingDepthLimit(YamlLimits.MAX_NESTING_DEPTH);
        options.setCodePointLimit(YamlLimits.MAX_SIZE);
        options.setMergeOnCompose(false);
        options.setProcessComments(false);
        return options;
    }

    private static void reportSyntaxError(MarkedYAMLException e, Problems problems) {
        Mark problemMark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
        StringBuilder message = new StringBuilder("invalid YAML: ");
        if (e.getContext() != null && e.getProblem() != null && e.getProblem().startsWith("but ")) {
            // "expected a single document in the stream" + "but found another document"
            message.append(e.getContext()).append(' ').append(e.getProblem());
        } else {
            message.append(e.getProblem() != null ? e.getProblem() : e.getContext());
        }
        if (e.getContext() != null && e.getProblem() != null && !e.getProblem().startsWith("but ")) {
            message.append(" (").append(e.getContext());
            Mark context = e.getContextMark();
            if (context != null) {
                message.append(" started at line ").append(context.getLine() + 1)
                        .append(", column ").append(context.getColumn() + 1);
            }
            message.append(')');
        }
        if (problemMark != null && startsWithDoubleColon(problemMark)) {
            message.append("; quote IPv6 addresses that start with '::', e.g. \"::1\"");
        }
        if (e.getContextMark() != null && startsWith(e.getContextMark(), '*', '.')) {
            message.append("; quote wildcard server names, e.g. \"*.example.com\" (YAML reads * as an alias)");
        }
        if (problemMark == null) {
            problems.add(1, 1, message.toString());
        } else {
            problems.add(problemMark, message.toString());
        }
    }

    private static boolean startsWithDoubleColon(Mark mark) {
        return startsWith(mark, ':', ':');
    }

    private static boolean startsWith(Mark mark, char first, char second) {
        int[] buffer = mark.getBuffer();
        int at = mark.getPointer();
        return buffer != null && at >= 0 && at + 1 < buffer.length && buffer[at] == first && buffer[at + 1] == second;
    }

    private record LimitHit(Mark mark, String message) {
    }

    /** Replays the parser's events to find the alias or nesting level that exceeded a bound. */
    private static Optional<LimitHit> findLimit(String text) {
        try {
            ParserImpl parser = new ParserImpl(new StreamReader(text), options());
            Set<String> collectionAnchors = new HashSet<>();
            int aliases = 0;
            int depth = 0;
            while (parser.peekEvent() != null && !parser.checkEvent(Event.ID.StreamEnd)) {
                Event event = parser.getEvent();
                if (event instanceof CollectionStartEvent start) {
                    if (start.getAnchor() != null) {
                        collectionAnchors.add(start.getAnchor());
                    }
                    if (++depth > YamlLimits.MAX_NESTING_DEPTH) {
                        return Optional.of(new LimitHit(event.getStartMark(),
                                "lists and mappings nested deeper than " + YamlLimits.MAX_NESTING_DEPTH + " levels"));
                    }
                } else if (event instanceof CollectionEndEvent) {
                    depth--;
                } else if (event instanceof ScalarEvent scalar && scalar.getAnchor() != null) {
                    collectionAnchors.remove(scalar.getAnchor());
                } else if (event instanceof AliasEvent alias && collectionAnchors.contains(alias.getAnchor())
                        && ++aliases > YamlLimits.MAX_COLLECTION_ALIASES) {
                    return Optional.of(new LimitHit(event.getStartMark(),
                            "more than " + YamlLimits.MAX_COLLECTION_ALIASES
                                    + " aliases to lists or mappings; refusing the file (such aliases can expand"
                                    + " without bound)"));
                }
            }
        } catch (YAMLException e) {
            // the composer's exception is reported without a position then
        }
        return Optional.empty();
    }

    /** 1-based {line, column} of a code point index in text. */
    private static int[] position(String text, int codePointIndex) {
        int line = 1;
        int column = 1;
        int index = 0;
        for (int i = 0; i < text.length() && index < codePointIndex; index++) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (c == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return new int[] {line, column};
    }
}
