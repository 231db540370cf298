package io.portcullis.policy.yaml;

import io.portcullis.policy.PolicyError;
import io.portcullis.policy.PolicyException;

import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.Node;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects the errors of one policy — its rules file and the list files it names — up to
 * {@link YamlLimits#MAX_ERRORS}; past that it records one last "too many errors" entry and ignores
 * the rest. Parsers check {@link #full()} to stop early. Errors come out ordered by file (the rules
 * file first, list files in the order they were read), then line and column.
 * One instance per parse; not thread-safe.
 */
final class Problems {

    private final String file;
    private final List<PolicyError> errors = new ArrayList<>();
    private final Map<String, Integer> fileRank = new HashMap<>();
    private PolicyError overflow;

    Problems(String file) {
        this.file = file;
        fileRank.put(file, 0);
    }

    /** The rules file's name, as used in its errors. */
    String file() {
        return file;
    }

    /** Reports a problem at the start of {@code node}. */
    void add(Node node, String message) {
        add(node.getStartMark(), message);
    }

    /** Reports a problem at a SnakeYAML mark (0-based line and column). */
    void add(Mark mark, String message) {
        add(mark.getLine() + 1, mark.getColumn() + 1, message);
    }

    /** Reports a problem at a 1-based line and column of the rules file. */
    void add(int line, int column, String message) {
        add(file, line, column, message);
    }

    /** Reports a problem at a 1-based line and column of another file (a list file). */
    void add(String otherFile, int line, int column, String message) {
        if (overflow != null) {
            return;
        }
        message = bounded(message);
        fileRank.putIfAbsent(otherFile, fileRank.size());
        if (errors.size() == YamlLimits.MAX_ERRORS) {
            overflow = new PolicyError(otherFile, line, column,
                    "too many errors; stopped after the first " + YamlLimits.MAX_ERRORS);
            return;
        }
        errors.add(new PolicyError(otherFile, line, column, message));
    }

    /**
     * {@code message} at most {@link YamlLimits#MAX_MESSAGE} characters: messages quote what they refer to
     * ('…'), and a hostile file can make that megabytes long. Long quoted parts are cut first, so the
     * hint after them survives; what is still too long loses its middle.
     */
    static String bounded(String message) {
        if (message.length() <= YamlLimits.MAX_MESSAGE) {
            return message;
        }
        StringBuilder out = new StringBuilder(YamlLimits.MAX_MESSAGE);
        int at = 0;
        while (at < message.length()) {
            int open = message.indexOf('\'', at);
            int close = open < 0 ? -1 : message.indexOf('\'', open + 1);
            if (close < 0) {
                out.append(message, at, message.length());
                break;
            }
            out.append(message, at, open + 1);
            out.append(shown(message.substring(open + 1, close)));
            out.append('\'');
            at = close + 1;
        }
        if (out.length() <= YamlLimits.MAX_MESSAGE) {
            return out.toString();
        }
        int tail = YamlLimits.MAX_MESSAGE / 4;
        String omitted = "…(" + (out.length() - YamlLimits.MAX_MESSAGE) + " more characters)…";
        int head = YamlLimits.MAX_MESSAGE - tail - omitted.length();
        return out.substring(0, head) + omitted + out.substring(out.length() - tail);
    }

    /** A value as messages quote it: hostile text is cut short. */
    static String shown(String value) {
        return value.length() <= 80 ? value : value.substring(0, 60) + "…(" + value.length() + " characters)";
    }

    /** How many problems were reported so far (to tell whether a section added any). */
    int count() {
        return errors.size() + (overflow == null ? 0 : 1);
    }

    /** Whether the cap was reached: further problems are dropped, parsers may stop. */
    boolean full() {
        return overflow != null;
    }

    void throwIfAny() throws PolicyException {
        if (errors.isEmpty()) {
            return;
        }
        List<PolicyError> sorted = new ArrayList<>(errors);
        sorted.sort(Comparator.comparingInt((PolicyError error) -> fileRank.get(error.file()))
                .thenComparingInt(PolicyError::line).thenComparingInt(PolicyError::column));
        if (overflow != null) {
            sorted.add(overflow);
        }
        throw new PolicyException(sorted);
    }
}
