package io.portcullis.gateway.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Prints a refused policy file as its errors, one a line, instead of a stack trace. */
public class PolicyLoadFailureAnalyzer extends AbstractFailureAnalyzer<PolicyLoadException> {

    static final String ACTION = "Fix the policy file (portcullis.rules) and start again. Check it without starting: "
            + "java -jar portcullis.jar validate --config APPLICATION_YML [RULES_YAML]";

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, PolicyLoadException cause) {
        return new FailureAnalysis(String.join("\n", cause.errors()), ACTION, cause);
    }
}
