package io.portcullis.gateway.config;

import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.core.Ordered;

/**
 * A start stopped by a wrong key or value in the configuration: one line per error ({@link ConfigurationErrors})
 * instead of Spring's binder text. Ordered before Spring's own analyzers of the same failures.
 */
public class ConfigurationFailureAnalyzer implements FailureAnalyzer, Ordered {

    static final String ACTION = "Fix the configuration and start again. Check it without starting: "
            + "java -jar portcullis.jar validate --config APPLICATION_YML [RULES_YAML]";

    @Override
    public FailureAnalysis analyze(Throwable failure) {
        return ConfigurationErrors.of(failure)
                .map(lines -> new FailureAnalysis(String.join("\n", lines), ACTION, failure))
                .orElse(null);
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
