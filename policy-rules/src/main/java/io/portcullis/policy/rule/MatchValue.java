package io.portcullis.policy.rule;

import java.util.List;
import java.util.Map;

/**
 * A value from {@code rules.yaml} handed to a {@link MatchType}: a string, a list or a mapping, with
 * the position it was written at. The accessors check the shape and throw a
 * {@link MatchValueException} at this value's position ("expected a list, got a string") otherwise.
 */
public interface MatchValue {

    /** 1-based line where the value starts. */
    int line();

    /** 1-based column where the value starts. */
    int column();

    boolean isString();

    boolean isList();

    boolean isMapping();

    /** The text of a scalar as written (numbers and booleans too). */
    String asString() throws MatchValueException;

    /** The items of a list, in file order. */
    List<MatchValue> asList() throws MatchValueException;

    /** The entries of a mapping with string keys, in file order. */
    Map<String, MatchValue> asMapping() throws MatchValueException;

    /** An exception reporting {@code message} at this value's position: {@code throw value.problem("…")}. */
    default MatchValueException problem(String message) {
        return new MatchValueException(this, message);
    }
}
