package io.portcullis.policy;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code portcullis validate FILE...}: checks policy files (and the list files they name) the way a
 * reload would, without starting anything. For each file it prints
 * {@code rules.yaml: OK (2 listeners, 7 rules)} to {@code out}, or every error as
 * {@code file:line:column: message} to {@code err}.
 */
public final class Validate {

    private Validate() {
    }

    /**
     * @param args the files to check
     * @return 0 when every file validated, 1 otherwise (also when no file was given)
     */
    public static int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty()) {
            err.println("usage: validate FILE... (checks rules.yaml files and the list files they name)");
            return 1;
        }
        int status = 0;
        for (String arg : args) {
            try {
                Policy policy = Policy.load(Path.of(arg));
                int listeners = policy.listenerNames().size();
                int rules = policy.ruleCount();
                out.println(arg + ": OK (" + count(listeners, "listener") + ", " + count(rules, "rule") + ")");
            } catch (PolicyException e) {
                e.errors().forEach(err::println);
                status = 1;
            } catch (java.nio.file.InvalidPathException e) {
                err.println(arg + ": not a valid path: " + e.getReason());
                status = 1;
            }
        }
        return status;
    }

    private static String count(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    /** For {@code java -cp policy-rules.jar io.portcullis.policy.Validate FILE...}. */
    public static void main(String[] args) {
        System.exit(run(List.of(args), System.out, System.err));
    }
}
