package io.portcullis.policy;

import java.io.Serializable;
import java.util.Objects;

/**
 * One problem found in a policy file, at a position: {@code rules.yaml:14:9: unknown list 'ofice'}.
 *
 * @param file    the file or source name the policy was read from
 * @param line    1-based line
 * @param column  1-based column (in characters)
 * @param message what is wrong and, where possible, what to write instead
 */
public record PolicyError(String file, int line, int column, String message) implements Serializable {

    public PolicyError {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(message, "message");
        if (line < 1 || column < 1) {
            throw new IllegalArgumentException("line and column are 1-based: " + line + ":" + column);
        }
    }

    /** {@code file:line:column: message}, the form editors and compilers use. */
    @Override
    public String toString() {
        return file + ":" + line + ":" + column + ": " + message;
    }
}
