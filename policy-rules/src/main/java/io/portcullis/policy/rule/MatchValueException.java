package io.portcullis.policy.rule;

/**
 * A value that a {@link MatchType} cannot compile, with where it is: the policy is refused and the
 * message reported as {@code file:line:column: message}. The message says what is wrong and what to
 * write instead; it does not repeat the position.
 */
public final class MatchValueException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int line;
    private final int column;

    /** A problem at {@code value}'s position. */
    public MatchValueException(MatchValue value, String message) {
        this(value.line(), value.column(), message);
    }

    /** A problem at a 1-based line and column of the policy file. */
    public MatchValueException(int line, int column, String message) {
        super(message);
        if (line < 1 || column < 1) {
            throw new IllegalArgumentException("line and column are 1-based: " + line + ":" + column);
        }
        this.line = line;
        this.column = column;
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }
}
