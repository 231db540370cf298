package io.portcullis.gateway.command;

import io.portcullis.policy.yaml.Suggestions;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;

/**
 * What {@code java -jar portcullis.jar ARGS} does before Spring sees the arguments: {@code validate},
 * {@code --help} and {@code --version} run here and exit; anything else starts the gateway, except a word
 * that is not a command (Spring would ignore it and start the gateway the user did not ask for).
 */
public final class Commands {

    static final int OK = 0;
    static final int ERRORS = 1;
    static final int USAGE = 2;

    static final String HELP = """
            Portcullis %s: a conditional-accept TCP connection gateway.

            usage: java -jar portcullis.jar [--KEY=VALUE]...       start the gateway
                   java -jar portcullis.jar validate [--config APPLICATION_YML]... [RULES_YAML...]
                                                                   check the configuration and rules as a start
                                                                   would, without starting (validate --help)
                   java -jar portcullis.jar --help | --version

            Configuration: Spring Boot's application.yml. Give yours with
            --spring.config.additional-location=file:/etc/portcullis/ (a directory holding application.yml), as
            environment variables (PORTCULLIS_RULES=...) or as --portcullis.KEY=VALUE. With no listener
            configured, an embedded demo runs (a listener on 127.0.0.1:7000 in front of a built-in echo server).
            Every key of application.yml is in the README's "Configuration" section; every key of rules.yaml in
            policy-rules/README.md and the JSON Schema rules.schema.json.
            """;

    private Commands() {
    }

    /**
     * Runs a command when the arguments ask for one.
     *
     * @return the exit status of the command that ran; empty when the gateway is to start
     */
    public static OptionalInt run(String[] args, PrintStream out, PrintStream err) {
        List<String> list = Arrays.asList(args);
        if (!list.isEmpty() && list.get(0).equals("validate")) {
            return OptionalInt.of(ValidateCommand.run(list.subList(1, list.size()), out, err));
        }
        if (list.contains("--help") || list.contains("-h") || (!list.isEmpty() && list.get(0).equals("help"))) {
            out.print(HELP.formatted(version()));
            return OptionalInt.of(OK);
        }
        if (list.contains("--version")) {
            out.println("portcullis " + version());
            return OptionalInt.of(OK);
        }
        Optional<String> word = list.stream().filter(a -> !a.startsWith("-")).findFirst();
        if (word.isPresent()) {
            String hint = Suggestions.nearest(word.get(), List.of("validate", "help"))
                    .map(near -> " (did you mean '" + near + "'?)").orElse("");
            err.println("portcullis: unknown command '" + word.get() + "'" + hint
                    + "; a command comes first, options are --KEY=VALUE; see --help");
            return OptionalInt.of(USAGE);
        }
        return OptionalInt.empty();
    }

    /** The version this build says it is: Maven's project version, written by the build into the jar. */
    static String version() {
        try (InputStream in = Commands.class.getResourceAsStream("/META-INF/portcullis/build.properties")) {
            if (in != null) {
                Properties build = new Properties();
                build.load(in);
                return build.getProperty("build.version", "unknown");
            }
        } catch (IOException e) {
            // fall through: the manifest may still say
        }
        return Optional.ofNullable(Commands.class.getPackage().getImplementationVersion()).orElse("unknown");
    }
}
