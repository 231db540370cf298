package io.portcullis.gateway.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Several gateway replicas as real processes, one child JVM each, sharing one configuration (and, with
 * {@link Builder#redis}, one Redis): what a Deployment with {@code replicas: N} runs, on loopback. For what one JVM
 * cannot show — a replica that crashes (SIGKILL), stops (SIGTERM), or loses Redis while the others go on.
 *
 * <pre>{@code
 * @ExtendWith(GatewayProcesses.LogsOnFailure.class)          // prints the replicas' logs when the test fails
 * class SomeTest {
 *     @Test
 *     void test() throws Exception {
 *         try (RedisServer redis = RedisServer.start();
 *              GatewayProcesses gateways = GatewayProcesses.builder()
 *                      .replicas(3)
 *                      .redis(redis.url())
 *                      .listener("plain", "127.0.0.1:" + echoPort, "conditional-accept: false")
 *                      .start()) {
 *             GatewayProcess first = gateways.get(0);
 *             first.scrape().value("portcullis_cluster_store_up");     // OptionalDouble[1.0]
 *             first.listener("plain");                                // where it is bound
 *             first.kill();
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Each replica gets a directory with its {@code application.yml} (written by the builder: {@code server.port: 0}
 * on 127.0.0.1, the admin token, {@code portcullis.cluster.replica-id} {@code replica-I},
 * {@code portcullis.cluster.redis.url}, {@code portcullis.rules}, the listeners on {@code 127.0.0.1:0}, a 2 s
 * {@code shutdown-grace}, then {@link Builder#config} as a second YAML document that overrides) and its
 * {@code gateway.log}. The JVMs run with a small heap, C1 only, the serial GC and Netty's leak detection at PARANOID.
 * All are launched at once and awaited together. Test code calls from its own thread.
 *
 * <p>Clean-up: {@link #close} kills every replica (SIGKILL: the test is over, nothing to drain) and deletes the
 * directories; a JVM shutdown hook kills those still running when the test JVM exits without closing; and each
 * child halts by itself when the test JVM is gone ({@link ChildGatewayMain}), so no gateway outlives its test.
 */
public final class GatewayProcesses implements AutoCloseable, Iterable<GatewayProcess> {

    /** Replicas running now, in every instance: killed by the shutdown hook. */
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
    /** Logs of the replicas closed since the current test began: printed by {@link LogsOnFailure}. */
    private static final List<String> CLOSED_LOGS = Collections.synchronizedList(new ArrayList<>());
    private static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx256m", "-Xss512k",
            "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto",
            "-Dio.netty.leakDetection.level=paranoid");

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "gateway-processes-cleanup"));
    }

    private final Builder spec;
    private final Path dir;
    private final List<GatewayProcess> replicas = new ArrayList<>();
    private Duration startTime = Duration.ZERO;
    private boolean closed;

    private GatewayProcesses(Builder spec, Path dir) {
        this.spec = spec;
        this.dir = dir;
    }

    public static Builder builder() {
        return new Builder();
    }

    static void forget(Process process) {
        LIVE.remove(process);
    }

    // ---- the replicas

    /** Replica {@code index} (0-based; its replica id is {@code replica-INDEX}), in the order started. */
    public GatewayProcess get(int index) {
        return replicas.get(index);
    }

    /** Every replica started, running or not. */
    public List<GatewayProcess> all() {
        return List.copyOf(replicas);
    }

    /** The replicas whose process still runs. */
    public List<GatewayProcess> running() {
        return replicas.stream().filter(GatewayProcess::isAlive).toList();
    }

    public int size() {
        return replicas.size();
    }

    @Override
    public Iterator<GatewayProcess> iterator() {
        return all().iterator();
    }

    /** From the first launch to the last replica ready, of {@link Builder#start}. */
    public Duration startTime() {
        return startTime;
    }

    /** Starts {@code count} more replicas with the same configuration (ids go on) and waits until they are ready. */
    public List<GatewayProcess> add(int count) throws IOException, InterruptedException {
        long started = System.nanoTime();
        List<GatewayProcess> added = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            added.add(launch(replicas.size()));
        }
        for (GatewayProcess p : added) {
            p.awaitReady(started, spec.readyWithin);
        }
        return added;
    }

    private GatewayProcess launch(int index) throws IOException {
        String id = spec.replicaIdPrefix + index;
        Path home = Files.createDirectories(dir.resolve(id));
        Path config = home.resolve("application.yml");
        Files.writeString(config, applicationYaml(id), StandardCharsets.UTF_8);
        Path log = home.resolve("gateway.log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(spec.jvmOptions);
        command.add("-D" + ChildGatewayMain.PARENT_PID + "=" + ProcessHandle.current().pid());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ChildGatewayMain.class.getName(),
                "--spring.config.additional-location=file:" + config));
        ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        // Only what the files say: nothing from the environment of whoever runs the tests.
        builder.environment().keySet().removeIf(k -> k.startsWith("PORTCULLIS_") || k.startsWith("SPRING_")
                || k.startsWith("MANAGEMENT_") || k.startsWith("SERVER_") || k.equals("JDK_JAVA_OPTIONS")
                || k.equals("JAVA_TOOL_OPTIONS"));
        Process process = builder.start();
        LIVE.add(process);
        GatewayProcess replica = new GatewayProcess(id, process, home, log, spec.adminToken,
                spec.listeners.stream().map(Listener::name).toList());
        replicas.add(replica);
        return replica;
    }

    private String applicationYaml(String replicaId) {
        StringBuilder y = new StringBuilder();
        y.append("# written by GatewayProcesses for ").append(replicaId).append('\n');
        y.append("server:\n  port: 0\n  address: 127.0.0.1\n");
        y.append("portcullis:\n");
        y.append("  admin:\n    token: ").append(quote(spec.adminToken)).append('\n');
        y.append("  shutdown-grace: 2s\n");
        y.append("  cluster:\n    replica-id: ").append(quote(replicaId)).append('\n');
        if (spec.redisUrl != null) {
            y.append("    redis:\n      url: ").append(quote(spec.redisUrl)).append('\n');
        }
        if (spec.rules != null) {
            y.append("  rules: ").append(quote("file:" + dir.resolve("rules.yaml"))).append('\n');
        }
        if (!spec.listeners.isEmpty()) {
            y.append("  listeners:\n");
            for (Listener l : spec.listeners) {
                y.append("    - name: ").append(quote(l.name())).append('\n');
                y.append("      bind: \"127.0.0.1:0\"\n");
                y.append("      backends: [").append(quote(l.backend())).append("]\n");
                for (String setting : l.settings()) {
                    setting.lines().forEach(line -> y.append("      ").append(line).append('\n'));
                }
            }
        }
        if (spec.config != null) {
            y.append("---\n").append(spec.config).append('\n');
        }
        return y.toString();
    }

    private static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    // ---- checks

    /**
     * Fails when any replica's log holds a Netty leak report. Running replicas first run a full GC and serve one
     * scrape, so that a buffer dropped without release is found and reported (the detector reports at the next
     * buffer it tracks).
     */
    public void assertNoLeaks() throws InterruptedException {
        for (GatewayProcess p : running()) {
            if (p.gc()) {
                try {
                    p.scrape();
                } catch (IOException | AssertionError e) {
                    // the leak check reads the log either way
                }
            }
        }
        List<String> found = new ArrayList<>();
        for (GatewayProcess p : replicas) {
            p.leaks().forEach(l -> found.add(p + ": " + l));
        }
        if (!found.isEmpty()) {
            throw new AssertionError("Netty reported leaks:\n" + String.join("\n", found) + "\n"
                    + replicas.stream().map(GatewayProcess::logTail).reduce("", (a, b) -> a + "\n" + b));
        }
    }

    /** Every replica's log, one after the other. */
    public String logs() {
        StringBuilder all = new StringBuilder();
        for (GatewayProcess p : replicas) {
            all.append("==== ").append(p).append(": ").append(p.logFile()).append('\n').append(p.log()).append('\n');
        }
        return all.toString();
    }

    /**
     * Kills every replica still running, waits for their end, keeps their logs for {@link LogsOnFailure} and
     * deletes the directories. Repeated calls are harmless.
     */
    @Override
    public void close() throws IOException, InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        for (GatewayProcess p : replicas) {
            p.process().destroyForcibly();
        }
        for (GatewayProcess p : replicas) {
            p.process().waitFor(10, TimeUnit.SECONDS);
            LIVE.remove(p.process());
        }
        CLOSED_LOGS.add(logs());
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** A listener of every replica: bound on an ephemeral port of 127.0.0.1. */
    private record Listener(String name, String backend, List<String> settings) {
    }

    /** What the replicas run with. Set up on the test's thread, then {@link #start}. */
    public static final class Builder {

        private int replicas = 1;
        private String redisUrl;
        private String rules;
        private final List<Listener> listeners = new ArrayList<>();
        private String config;
        private List<String> jvmOptions = DEFAULT_JVM_OPTIONS;
        private Duration readyWithin = Duration.ofSeconds(60);
        private String adminToken = "gateway-processes-admin-token";
        private String replicaIdPrefix = "replica-";

        private Builder() {
        }

        /** How many replicas {@link #start} launches (1 by default). */
        public Builder replicas(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("replicas: at least 1");
            }
            this.replicas = count;
            return this;
        }

        /** {@code portcullis.cluster.redis.url} of every replica; none: each replica on its own. */
        public Builder redis(String url) {
            this.redisUrl = Objects.requireNonNull(url, "url");
            return this;
        }

        /** rules.yaml: written once, every replica's {@code portcullis.rules} points at it. */
        public Builder rules(String yaml) {
            this.rules = Objects.requireNonNull(yaml, "yaml");
            return this;
        }

        /**
         * A listener on {@code 127.0.0.1:0} relaying to {@code backend} ({@code host:port}); {@code settings} are
         * more YAML lines of the listener, such as {@code "conditional-accept: false"} or
         * {@code "inspect: { timeout: 2s, on-timeout: reject }"}.
         */
        public Builder listener(String name, String backend, String... settings) {
            listeners.add(new Listener(name, backend, List.of(settings)));
            return this;
        }

        /**
         * More configuration of every replica: a YAML document after the builder's, so its keys win (a list, such
         * as {@code portcullis.listeners}, is replaced whole).
         */
        public Builder config(String yaml) {
            this.config = Objects.requireNonNull(yaml, "yaml");
            return this;
        }

        /** The JVM options of each replica, in place of the defaults ({@link #defaultJvmOptions}). */
        public Builder jvmOptions(String... options) {
            this.jvmOptions = List.of(options);
            return this;
        }

        /** The defaults: -Xmx256m, C1 only, the serial GC, Netty's leak detection at PARANOID. */
        public static List<String> defaultJvmOptions() {
            return DEFAULT_JVM_OPTIONS;
        }

        /** How long a replica may take from its launch to ready (60 s by default). */
        public Builder readyWithin(Duration within) {
            this.readyWithin = Objects.requireNonNull(within, "within");
            return this;
        }

        /** The bearer token of every replica's admin API (16 visible characters at least). */
        public Builder adminToken(String token) {
            this.adminToken = Objects.requireNonNull(token, "token");
            return this;
        }

        /** Replica ids are this prefix and the index ({@code replica-} by default). */
        public Builder replicaIdPrefix(String prefix) {
            this.replicaIdPrefix = Objects.requireNonNull(prefix, "prefix");
            return this;
        }

        /**
         * Writes the files, launches every replica at once and waits until all are ready. A replica that ends or is
         * not ready in time fails the call with its log's end, after every replica was killed.
         */
        public GatewayProcesses start() throws IOException, InterruptedException {
            Path dir = Files.createTempDirectory("portcullis-replicas");
            GatewayProcesses processes = new GatewayProcesses(this, dir);
            try {
                if (rules != null) {
                    Files.writeString(dir.resolve("rules.yaml"), rules, StandardCharsets.UTF_8);
                }
                long started = System.nanoTime();
                List<GatewayProcess> launched = new ArrayList<>();
                for (int i = 0; i < replicas; i++) {
                    launched.add(processes.launch(i));
                }
                for (GatewayProcess p : launched) {
                    p.awaitReady(started, readyWithin);
                }
                processes.startTime = Duration.ofNanos(System.nanoTime() - started);
                return processes;
            } catch (IOException | InterruptedException | RuntimeException | Error e) {
                try {
                    processes.close();
                } catch (IOException | InterruptedException closing) {
                    e.addSuppressed(closing);
                }
                throw e;
            }
        }
    }

    /**
     * Prints the logs of every {@link GatewayProcesses} closed during a test that failed (to the test's output,
     * which surefire keeps in {@code target/surefire-reports/*-output.txt}). Register with
     * {@code @ExtendWith(GatewayProcesses.LogsOnFailure.class)}.
     */
    public static final class LogsOnFailure implements BeforeEachCallback, TestWatcher {

        @Override
        public void beforeEach(ExtensionContext context) {
            CLOSED_LOGS.clear();
        }

        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            synchronized (CLOSED_LOGS) {
                System.out.println("==== " + context.getDisplayName() + " failed; the gateway replicas' logs:");
                CLOSED_LOGS.forEach(System.out::println);
                CLOSED_LOGS.clear();
            }
        }

        @Override
        public void testSuccessful(ExtensionContext context) {
            CLOSED_LOGS.clear();
        }

        @Override
        public void testAborted(ExtensionContext context, Throwable cause) {
            CLOSED_LOGS.clear();
        }

        @Override
        public void testDisabled(ExtensionContext context, java.util.Optional<String> reason) {
            CLOSED_LOGS.clear();
        }
    }

    /** The replicas' ids to their admin URIs: for messages. */
    @Override
    public String toString() {
        Map<String, Object> shown = new java.util.LinkedHashMap<>();
        replicas.forEach(p -> shown.put(p.replicaId(), p.isAlive() ? p.adminUri() : "ended"));
        return "gateway replicas " + shown;
    }
}
