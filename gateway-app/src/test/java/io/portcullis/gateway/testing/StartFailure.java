package io.portcullis.gateway.testing;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.gateway.PortcullisApplication;
import java.util.List;
import java.util.stream.Stream;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.io.support.SpringFactoriesLoader;

/** Starts the application with arguments that must stop the start, and reads what it said. */
public final class StartFailure {

    private StartFailure() {
    }

    /** The failure of a start with {@code args}; fails the test when the application starts. */
    public static Throwable of(String... args) {
        Throwable[] failure = new Throwable[1];
        assertThatThrownBy(() -> {
            try (ConfigurableApplicationContext ignored = new SpringApplicationBuilder(PortcullisApplication.class).run(args)) {
                // started: the assertion fails
            }
        }).satisfies(t -> failure[0] = t);
        return failure[0];
    }

    /**
     * What an operator reads in the log: the failure analysis Spring Boot reports (its analyzers from
     * {@code spring.factories}, in their order, the first that knows the failure), description then action;
     * fails the test when no analyzer knows it (Spring would print a stack trace).
     */
    public static String report(Throwable t) {
        List<FailureAnalyzer> analyzers = SpringFactoriesLoader.forDefaultResourceLocation()
                .load(FailureAnalyzer.class, SpringFactoriesLoader.FailureHandler.handleMessage((message, e) -> { }));
        for (FailureAnalyzer analyzer : analyzers) {
            FailureAnalysis analysis = analyzer.analyze(t);
            if (analysis != null) {
                return analysis.getDescription() + "\n" + analysis.getAction();
            }
        }
        throw new AssertionError("no failure analysis for " + t, t);
    }

    /** The description lines of {@link #report}: one per error. */
    public static List<String> errors(Throwable t) {
        String report = report(t);
        return List.of(report.substring(0, report.lastIndexOf('\n')).split("\n"));
    }

    /** Every message in the cause chain, one a line. */
    public static String messages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        Stream.iterate(t, e -> e != null, Throwable::getCause).forEach(e -> sb.append(e.getMessage()).append('\n'));
        return sb.toString();
    }
}
