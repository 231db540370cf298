package io.portcullis.policy.model;

import java.util.Objects;

/**
 * The policy's answer for one request: the action and the name of the rule that decided it
 * ({@value #DEFAULT_RULE} when no rule matched).
 */
public record Verdict(InspectAction action, String rule) {

    /** Rule name reported when a listener's {@code default} decided. */
    public static final String DEFAULT_RULE = "default";

    public Verdict {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(rule, "rule");
    }
}
