package io.portcullis.policy;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A policy that cannot be used: it could not be read, is not valid YAML, or does not validate.
 * It carries every problem found (up to a cap), ordered by position; {@link #getMessage()} lists
 * them one per line as {@code file:line:column: message}.
 */
public final class PolicyException extends Exception {

    private static final long serialVersionUID = 1L;

    private final List<PolicyError> errors;

    public PolicyException(List<PolicyError> errors) {
        super(errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n")));
        if (errors.isEmpty()) {
            throw new IllegalArgumentException("a policy exception needs at least one error");
        }
        this.errors = List.copyOf(errors);
    }

    public PolicyException(PolicyError error) {
        this(List.of(error));
    }

    /** The problems, in file order; never empty. */
    public List<PolicyError> errors() {
        return errors;
    }
}
