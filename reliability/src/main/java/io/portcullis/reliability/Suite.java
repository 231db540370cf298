package io.portcullis.reliability;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The reliability suite: runs each {@link Scenario} against the gateway jar as a child process, on loopback
 * only, and writes {@code results.json} and {@code results.md} (scenario, load, faults injected, outcome, bytes
 * lost, peak RSS of the gateway). Exit status 1 when a scenario failed, 2 on a usage error.
 *
 * <pre>java -cp reliability/target/classes io.portcullis.reliability.Suite --profile short|long --jar JAR --out DIR</pre>
 */
public final class Suite {

    private Suite() {
    }

    /** A new scenario is one more entry here. */
    static List<Scenario> scenarios() {
        return List.of(new LosslessRelay(), new SlowReadersAndResets(), new DecisionFaults(), new AbortStorm(),
                new Flood(), new HostileClients(), new BackendFailure(), new ReloadUnderLoad(), new SigtermDrain(),
                new Security(), new Soak());
    }

    public static void main(String[] args) throws Exception {
        String profile = "short";
        Path jar = Path.of("gateway-app/target/portcullis.jar");
        Path out = Path.of("target/reliability");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--profile" -> profile = args[i + 1];
                case "--jar" -> jar = Path.of(args[i + 1]);
                case "--out" -> out = Path.of(args[i + 1]);
                default -> {
                    System.err.println("unknown option " + args[i] + " (expected --profile, --jar, --out)");
                    System.exit(2);
                }
            }
        }
        Profile p = Profile.of(profile);
        if (!Files.isRegularFile(jar)) {
            System.err.println(jar.toAbsolutePath() + ": no gateway jar (build it: mvn -DskipTests package)");
            System.exit(2);
        }
        Files.createDirectories(out);
        watchdog(p.name().equals("long") ? 180 : 15);
        Env env = new Env(p, jar, out, System.getProperty("java.class.path"));
        List<Result> results = new ArrayList<>();
        String only = System.getProperty("reliability.only", "");
        for (Scenario s : scenarios()) {
            if (!s.name().startsWith(only)) {
                continue; // -Dreliability.only=9 runs scenario 9 alone
            }
            System.out.println("reliability: " + s.name() + " (" + p.name() + ") ...");
            Result r;
            try {
                r = s.run(env);
            } catch (Exception e) {
                r = new Result(s.name(), "-", "-", false, "error: " + e, -1, -1, 0);
            }
            System.out.println("reliability: " + (r.passed() ? "PASS " : "FAIL ") + r.scenario() + ": " + r.outcome()
                    + "; bytes lost " + r.bytesLost() + "; gateway peak RSS " + r.peakRssKiB() / 1024 + " MiB; "
                    + r.seconds() + " s");
            results.add(r);
        }
        write(out, p, results);
        boolean ok = results.stream().allMatch(Result::passed);
        System.out.println("reliability: " + (ok ? "all passed" : "FAILED") + "; table in " + out.resolve("results.md"));
        Children.killAll();
        System.exit(ok ? 0 : 1);
    }

    private static void write(Path out, Profile p, List<Result> results) throws IOException {
        StringBuilder md = new StringBuilder("| scenario | load | faults injected | outcome | bytes lost | peak RSS |\n"
                + "|---|---|---|---|---|---|\n");
        StringBuilder json = new StringBuilder("{\"profile\":\"" + p.name() + "\",\"results\":[");
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            md.append("| ").append(r.scenario()).append(" | ").append(r.load()).append(" | ").append(r.faults())
                    .append(" | ").append(r.passed() ? "**pass**: " : "**FAIL**: ").append(r.outcome().replace("|", "/"))
                    .append(" | ").append(r.bytesLost()).append(" | ").append(r.peakRssKiB() / 1024).append(" MiB |\n");
            json.append(i == 0 ? "" : ",").append("{\"scenario\":").append(q(r.scenario())).append(",\"load\":")
                    .append(q(r.load())).append(",\"faults\":").append(q(r.faults())).append(",\"passed\":")
                    .append(r.passed()).append(",\"outcome\":").append(q(r.outcome())).append(",\"bytesLost\":")
                    .append(r.bytesLost()).append(",\"peakRssKiB\":").append(r.peakRssKiB()).append(",\"seconds\":")
                    .append(r.seconds()).append('}');
        }
        Files.writeString(out.resolve("results.md"), md);
        Files.writeString(out.resolve("results.json"), json.append("]}\n"));
    }

    private static String q(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    /** The whole run ends by itself after {@code minutes}, children killed, whatever hangs. */
    private static void watchdog(int minutes) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(TimeUnit.MINUTES.toMillis(minutes));
            } catch (InterruptedException e) {
                return;
            }
            System.err.println("reliability: watchdog: " + minutes + " min passed, stopping");
            Children.killAll();
            Runtime.getRuntime().halt(1);
        }, "watchdog");
        t.setDaemon(true);
        t.start();
    }
}
