package io.portcullis.gateway.testing;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.gateway.PortcullisApplication;
import java.util.stream.Stream;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

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

    /** Every message in the cause chain, one a line: what an operator reads in the log. */
    public static String messages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        Stream.iterate(t, e -> e != null, Throwable::getCause).forEach(e -> sb.append(e.getMessage()).append('\n'));
        return sb.toString();
    }
}
