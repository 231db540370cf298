package io.portcullis.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code portcullis validate}, {@code --help} and {@code --version}: the real main in its own JVM, exit code and
 * messages, nothing started. validate runs the checks of a start: a file it passes starts, one it refuses does not.
 */
class ValidateCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {

        String all() {
            return out + err;
        }
    }

    /** Runs the application's main with {@code args} in {@link #dir}, as {@code java -jar portcullis.jar ARGS} would. */
    private Run run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                PortcullisApplication.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        builder.environment().keySet().removeIf(k -> k.startsWith("PORTCULLIS_") || k.startsWith("SPRING_"));
        Process p = builder.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the command did not finish within 60 s (did it start the gateway?)");
        }
        Run run = new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        assertThat(run.all()).as("nothing starts").doesNotContain("Started PortcullisApplication").doesNotContain("INFO");
        return run;
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private static final String RULES = """
            listeners:
              db:
                rules:
                  - name: ask-authz
                    source: [10.0.0.0/8]
                    action: pend
                    decision: authz
                  - name: ok
                    source: [127.0.0.1]
                    action: accept
                default: reject
            """;

    private static final String APP = """
            portcullis:
              rules: file:./rules.yaml
              listeners:
                - name: db
                  bind: 127.0.0.1:15432
                  backends: [10.0.0.5:5432]
              decision-services:
                authz:
                  url: http://authz:8181/v1/decide
            """;

    @Test
    void aValidFileOnItsOwnExitsZeroAndSaysWhatWasNotChecked() throws Exception {
        Path rules = write("rules.yaml", RULES);
        Run run = run("validate", "rules.yaml");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).isEqualTo(rules + ": OK (1 listener, 2 rules); checked on its own: no listener is "
                + "configured (give --config APPLICATION_YML to check it against the listeners and decision services)\n");
        assertThat(run.err()).isEmpty();
    }

    @Test
    void aBrokenFileExitsOneWithAbsolutePathLineColumn() throws Exception {
        Path rules = write("rules.yaml", RULES.replace("source: [127.0.0.1]", "sourc: [127.0.0.1]"));
        Run run = run("validate", "./rules.yaml");
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).isEqualTo(rules + ":9:9: unknown key 'sourc' (did you mean 'source'?)\n");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void withTheConfigurationTheRulesAreCheckedAsAStartChecksThem() throws Exception {
        write("rules.yaml", RULES);
        Path app = write("application.yml", APP);
        Run ok = run("validate", "--config", "application.yml");
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(ok.out()).isEqualTo(app + ": OK (listeners: db; decision services: authz)\n"
                + dir.resolve("rules.yaml") + ": OK (1 listener, 2 rules); fits the configuration\n");

        // what the old validate passed and the gateway then refused: a decision service that is not configured
        Path typo = write("typo.yaml", RULES.replace("decision: authz", "decision: authz2"));
        Run refused = run("validate", "--config=application.yml", "typo.yaml");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).isEqualTo(typo + ":4:9: rule 'ask-authz' of listener 'db' names decision service "
                + "'authz2', which is not configured (configured: authz); add it under portcullis.decision-services or "
                + "fix the name\n");

        Path other = write("other.yaml", RULES.replace("  db:", "  web:"));
        Run uncovered = run("validate", "--config", dir.toString(), "other.yaml");
        assertThat(uncovered.exit()).as("--config takes the directory holding application.yml too").isEqualTo(1);
        assertThat(uncovered.err()).isEqualTo(other + ": no rules for listener(s) [db] which have conditional-accept: "
                + "true (the file has: [web])\n");
    }

    @Test
    void aConfigurationErrorIsOneLineWithTheFileAndNothingIsChecked() throws Exception {
        write("rules.yaml", RULES);
        Path app = write("application.yml", APP.replace("      backends: [10.0.0.5:5432]",
                "      backends: [10.0.0.5:5432]\n      balance: fastest\n      conditonal-accept: true"));
        Run run = run("validate", "--config", "application.yml", "rules.yaml");
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).isEqualTo(
                app + ":7:16: portcullis.listeners[0].balance: found 'fastest', expected round-robin, least-connections or source-hash\n");
        assertThat(run.out()).isEmpty();

        Run unknown = run("validate", "--config", "application.yml".replace("application", "missing"), "rules.yaml");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).isEqualTo(dir.resolve("missing.yml") + ": no such file or directory (--config)\n");
    }

    @Test
    void anSniRuleIsRefusedWhereTheConfiguredListenerDoesNotPeekAndTakenAlone() throws Exception {
        Path rules = write("rules.yaml", RULES.replace("source: [127.0.0.1]", "sni: [db.example.com]"));
        write("app.yml", APP);
        Run run = run("validate", "--config", "app.yml", "rules.yaml");
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).startsWith(rules + ":8:9: rule 'ok' of listener 'db' matches on sni, but listener 'db' "
                + "does not peek at TLS").contains("set peek.tls: true on the listener");

        Run alone = run("validate", "rules.yaml");
        assertThat(alone.exit()).as("what is peeked is the configuration's: %s", alone.err()).isZero();

        write("peeking.yml", APP.replace("      backends: [10.0.0.5:5432]", "      backends: [10.0.0.5:5432]\n"
                + "      peek: { tls: true }"));
        Run peeking = run("validate", "--config", "peeking.yml", "rules.yaml");
        assertThat(peeking.exit()).as(peeking.err()).isZero();
    }

    @Test
    void theShippedComposeExampleValidates() throws Exception {
        Path docker = Path.of("..", "docker", "config").toAbsolutePath().normalize();
        Run run = run("validate", "--config", docker.resolve("application.yml").toString(),
                docker.resolve("rules.yaml").toString());
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains(docker.resolve("rules.yaml") + ": OK").contains("fits the configuration");
    }

    @Test
    void usageErrorsExitTwo() throws Exception {
        for (List<String> args : List.of(List.of("validate"), List.of("validate", "--strict", "rules.yaml"),
                List.of("validate", "--config"))) {
            Run run = run(args.toArray(String[]::new));
            assertThat(run.exit()).as(args.toString()).isEqualTo(2);
            assertThat(run.err()).as(args.toString()).startsWith("validate: ")
                    .contains("usage: java -jar portcullis.jar validate [--config APPLICATION_YML]... [RULES_YAML...]");
        }
        Run typo = run("valdate", "rules.yaml");
        assertThat(typo.exit()).isEqualTo(2);
        assertThat(typo.err()).contains("unknown command 'valdate' (did you mean 'validate'?)");
    }

    @Test
    void helpAndVersionPrintAndStartNothing() throws Exception {
        for (String flag : List.of("--help", "-h")) {
            Run help = run(flag);
            assertThat(help.exit()).isZero();
            assertThat(help.out()).contains("java -jar portcullis.jar validate [--config APPLICATION_YML]...")
                    .contains("README").contains("policy-rules/README.md");
        }
        Run validateHelp = run("validate", "--help");
        assertThat(validateHelp.exit()).isZero();
        assertThat(validateHelp.out()).contains("Exit status: 0");

        Run version = run("--version");
        assertThat(version.exit()).isZero();
        assertThat(version.out()).matches("portcullis \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\n");
    }
}
