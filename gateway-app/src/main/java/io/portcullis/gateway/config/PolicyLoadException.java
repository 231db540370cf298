package io.portcullis.gateway.config;

import java.util.List;

/** The policy file could not be read or did not validate; {@link #errors()} has every error, file:line:column first. */
public class PolicyLoadException extends RuntimeException {

    private final List<String> errors;

    public PolicyLoadException(List<String> errors, Throwable cause) {
        super("The policy file was refused:\n" + String.join("\n", errors), cause);
        this.errors = List.copyOf(errors);
    }

    public PolicyLoadException(List<String> errors) {
        this(errors, null);
    }

    /** Every error, one line each. */
    public List<String> errors() {
        return errors;
    }
}
