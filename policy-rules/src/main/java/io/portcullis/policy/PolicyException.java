package io.portcullis.policy;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A policy that cannot be used: it could not be read, is not valid YAML, or does not validate.
 * It carries every problem found (up to a cap), ordered by position; {@link #getMessage()} lists
 * them one per line as {@code file:line:column: message}, and the files the refused policy was read
 * from ({@link #files()}), so that a watcher retries when one of them changes or appears.
 */
public final class PolicyException extends Exception {

    private static final long serialVersionUID = 1L;

    private final List<PolicyError> errors;
    /** Not serialized (a path is not serializable): empty after deserialization. */
    private final transient List<FileStamp> files;

    public PolicyException(List<PolicyError> errors) {
        this(errors, List.of());
    }

    /**
     * @param files the files the refused policy was read from, each stamped before it was read
     */
    public PolicyException(List<PolicyError> errors, List<FileStamp> files) {
        super(errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n")));
        if (errors.isEmpty()) {
            throw new IllegalArgumentException("a policy exception needs at least one error");
        }
        this.errors = List.copyOf(errors);
        this.files = List.copyOf(Objects.requireNonNull(files, "files"));
    }

    public PolicyException(PolicyError error) {
        this(List.of(error));
    }

    /** The problems, in file order; never empty. */
    public List<PolicyError> errors() {
        return errors;
    }

    /**
     * The files the refused policy was read from, as far as compiling got, each stamped just before it
     * was read: the rules file first ({@code Policy.load}), then every list file it names in file order,
     * including those that do not exist or could not be read. A watcher that watches these retries when
     * any of them changes — a missing list file appearing, say. Empty when not known.
     */
    public List<FileStamp> files() {
        return files == null ? List.of() : files;
    }
}
