package io.portcullis.gateway.command;

import io.portcullis.gateway.config.ConfigurationCheck;
import io.portcullis.gateway.config.PolicyLoadException;
import io.portcullis.gateway.config.PolicySource;
import io.portcullis.gateway.config.PortcullisProperties;
import io.portcullis.gateway.config.PortcullisProperties.ListenerProperties;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyOptions;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code portcullis validate [--config APPLICATION_YML]... [RULES_YAML...]}: the checks of a start (and of a
 * reload) without starting anything, like {@code nginx -t}. The configuration is bound as a start binds it
 * ({@link ConfigurationCheck}); each rules file then goes through the same {@link PolicySource} a start and a
 * reload use. Exit 0: the gateway would start with these files; 1: errors, one a line on stderr; 2: usage.
 */
final class ValidateCommand {

    static final String USAGE = """
            usage: java -jar portcullis.jar validate [--config APPLICATION_YML]... [RULES_YAML...]

            Checks what a start checks, without binding a port or starting anything:
              1. the configuration, read as a start reads it: the built-in defaults, Spring Boot's usual
                 places (application.yml in the working directory and its config/), each --config file (or
                 directory holding an application.yml) on top, then SPRING_* and PORTCULLIS_* environment
                 variables; every portcullis.* key is bound and validated;
              2. each RULES_YAML (default: portcullis.rules of the configuration) with its list files, against
                 the configured listeners (a section for each that inspects, no sni/alpn/tls-fingerprint rule on a
                 listener without peek.tls, no pp-authority/pp-tlv rule on one that reads no PROXY header) and
                 decision services (each decision: a rule names is configured).
            With no listener configured (as without --config), each RULES_YAML is checked on its own: parse,
            lists and rules (what its listeners peek is in the configuration, so not checked); the output says so.
            Not checked: whether the ports are free, whether the transport runs on this machine, Spring's and
            Resilience4j's own keys (server.*, resilience4j.*).

            Exit status: 0 all OK (the gateway would start), 1 errors (one a line on stderr), 2 usage error.
            """;

    private ValidateCommand() {
    }

    /** Runs the command with the arguments after {@code validate}; returns the exit status. */
    static int run(List<String> args, PrintStream out, PrintStream err) {
        List<Path> configs = new ArrayList<>();
        List<String> rules = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("-h") || arg.equals("--help")) {
                out.print(USAGE);
                return Commands.OK;
            }
            Optional<String> config = Optional.empty();
            if (arg.equals("--config")) {
                if (i + 1 == args.size()) {
                    return usage(err, "--config needs a file");
                }
                config = Optional.of(args.get(++i));
            } else if (arg.startsWith("--config=")) {
                config = Optional.of(arg.substring("--config=".length()));
            } else if (arg.startsWith("-") && !arg.equals("-")) {
                return usage(err, "unknown option '" + arg + "'");
            } else {
                rules.add(arg);
            }
            if (config.isPresent()) {
                try {
                    configs.add(Path.of(config.get()));
                } catch (InvalidPathException e) {
                    return usage(err, "--config " + config.get() + ": not a valid path");
                }
            }
        }
        if (configs.isEmpty() && rules.isEmpty()) {
            return usage(err, "give a rules file, or --config with portcullis.rules set");
        }
        boolean missing = false;
        for (Path config : configs) {
            if (!Files.exists(config)) {
                err.println(config.toAbsolutePath() + ": no such file or directory (--config)");
                missing = true;
            }
        }
        if (missing) {
            return Commands.ERRORS;
        }

        ConfigurationCheck.Result bound = ConfigurationCheck.bind(configs);
        if (bound.properties().isEmpty()) {
            bound.errors().forEach(err::println);
            return Commands.ERRORS;
        }
        PortcullisProperties properties = bound.properties().get();
        if (!configs.isEmpty()) {
            out.println(configs.stream().map(c -> c.toAbsolutePath().toString()).collect(Collectors.joining(", "))
                    + ": OK (" + describe(properties) + ")");
        }

        List<String> locations = rules;
        Function<String, PolicySource> sourceOf;
        String against;
        if (properties.listeners().isEmpty() && !rules.isEmpty()) {
            sourceOf = PolicySource::standalone;
            against = "checked on its own: no listener is configured"
                    + (configs.isEmpty() ? " (give --config APPLICATION_YML to check it against the listeners and "
                    + "decision services)" : "");
        } else {
            PolicySource configured = PolicySource.of(properties);
            if (rules.isEmpty()) {
                // the configuration's own portcullis.rules, exactly as a start reads it
                locations = List.of("");
                sourceOf = location -> configured;
            } else {
                sourceOf = configured::withRules;
            }
            against = properties.listeners().isEmpty() ? "for the embedded demo: no listener is configured"
                    : "fits the configuration";
        }

        int status = Commands.OK;
        for (String location : locations) {
            try {
                PolicySource source = sourceOf.apply(location);
                if (source.resource().isEmpty()) {
                    out.println("no rules file: no listener inspects, and portcullis.rules is not set");
                    continue;
                }
                Policy policy = source.load(PolicyOptions.defaults());
                out.println(source.name() + ": OK (" + count(policy.listenerNames().size(), "listener") + ", "
                        + count(policy.ruleCount(), "rule") + "); " + against);
            } catch (PolicyLoadException e) {
                e.errors().forEach(err::println);
                status = Commands.ERRORS;
            } catch (InvalidPathException e) {
                err.println(location + ": not a valid path: " + e.getReason());
                status = Commands.ERRORS;
            }
        }
        return status;
    }

    private static String describe(PortcullisProperties properties) {
        if (properties.listeners().isEmpty()) {
            return "no listener: the embedded demo would run";
        }
        String listeners = properties.listeners().stream().map(ListenerProperties::name).collect(Collectors.joining(", "));
        String services = properties.decisionServices().isEmpty() ? "no decision service"
                : "decision services: " + String.join(", ", new TreeSet<>(properties.decisionServices().keySet()));
        return "listeners: " + listeners + "; " + services;
    }

    private static int usage(PrintStream err, String problem) {
        err.println("validate: " + problem);
        err.println(USAGE.lines().findFirst().orElseThrow() + "   (validate --help says more)");
        return Commands.USAGE;
    }

    private static String count(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
