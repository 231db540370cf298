package io.portcullis.gateway.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Prints a refused policy file as its list of errors instead of a stack trace. */
public class PolicyLoadFailureAnalyzer extends AbstractFailureAnalyzer<PolicyLoadException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, PolicyLoadException cause) {
        return new FailureAnalysis(cause.getMessage(),
                "Fix the policy file (portcullis.rules) and start again; check it without starting with "
                        + "'java -jar portcullis.jar validate FILE' once that command exists.", cause);
    }
}
