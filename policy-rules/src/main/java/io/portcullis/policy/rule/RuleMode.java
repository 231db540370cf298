package io.portcullis.policy.rule;

/** How a rule takes part in evaluation ({@code mode:} in {@code rules.yaml}). */
public enum RuleMode {
    /** The rule decides (or, as a limiter, rejects past its bound). The default. */
    ENFORCE,
    /**
     * The rule is evaluated and its would-be verdict reported to the shadow observer, but it never
     * decides: evaluation goes on with the next rule as if it had not matched.
     */
    SHADOW;

    /** The lower-case name used in YAML. */
    public String label() {
        return this == ENFORCE ? "enforce" : "shadow";
    }
}
