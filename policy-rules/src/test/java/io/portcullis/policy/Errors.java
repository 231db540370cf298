package io.portcullis.policy;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The errors of policies that must not compile, as "file:line:column: message". */
public final class Errors {

    private Errors() {
    }

    public static List<String> errorsOf(String yaml) {
        return errorsOf(yaml, PolicyOptions.defaults());
    }

    public static List<String> errorsOf(String yaml, PolicyOptions options) {
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.parse(yaml, "rules.yaml", options));
        assertThat(e).as("the policy should have been refused").isNotNull();
        return e.errors().stream().map(PolicyError::toString).toList();
    }

    /** A listener "demo" with the given rule lines (already indented as list items) and default reject. */
    public static String rules(String rules) {
        return "listeners:\n  demo:\n    rules:\n" + rules + "    default: reject\n";
    }
}
