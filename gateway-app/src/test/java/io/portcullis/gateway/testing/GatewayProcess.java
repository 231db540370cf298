package io.portcullis.gateway.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One gateway replica of {@link GatewayProcesses}: a child JVM of its own ({@link ChildGatewayMain}, the test
 * classpath), configured by an {@code application.yml} in a directory of its own, its output in {@link #logFile()}.
 * The admin API and the actuator share one port ({@code server.port: 0}, on 127.0.0.1); listeners bind ephemeral
 * ports of 127.0.0.1. Both ports are read from the start log, so that no port is picked ahead and raced for.
 *
 * <p>Methods may be called from any thread; the test's thread is the usual one. {@link #kill} and {@link #stop} end
 * the process; what was read before ({@link #adminUri}, {@link #listener}) stays readable, the HTTP calls then fail.
 */
public final class GatewayProcess {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final Pattern ADMIN_PORT = Pattern.compile("Netty started on port (\\d+)");
    private static final Pattern LISTENER = Pattern.compile("Listener '([a-z0-9_-]+)' on [^/\\s]*/([0-9.]+|\\[[0-9a-fA-F:%.]+]):(\\d+) ");
    private static final Pattern REPLICA = Pattern.compile("Cluster: replica (\\S+) shares state through Redis at (\\S+)");
    /** How much of the log an assertion message quotes. */
    private static final int LOG_TAIL = 60;

    private final String replicaId;
    private final Process process;
    private final Path dir;
    private final Path logFile;
    private final String adminToken;
    private final List<String> listenerNames;
    private volatile int adminPort;
    private volatile Map<String, InetSocketAddress> listeners = Map.of();
    private volatile Duration readyAfter;

    GatewayProcess(String replicaId, Process process, Path dir, Path logFile, String adminToken,
                   List<String> listenerNames) {
        this.replicaId = replicaId;
        this.process = process;
        this.dir = dir;
        this.logFile = logFile;
        this.adminToken = adminToken;
        this.listenerNames = List.copyOf(listenerNames);
    }

    // ---- start

    /**
     * Waits until the process reports its ports, every listener is bound and {@code /actuator/health/readiness} is UP.
     * Fails with the log's end when the process ends first or {@code within} is over.
     */
    void awaitReady(long startedNanos, Duration within) throws InterruptedException {
        long deadline = startedNanos + within.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError(this + " ended with exit status " + process.exitValue()
                        + " before it was ready\n" + logTail());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(this + " not ready within " + within + "\n" + logTail());
            }
            if (adminPort == 0 || listeners.size() < listenerNames.size()) {
                readPorts();
            } else if (ready()) {
                readyAfter = Duration.ofNanos(System.nanoTime() - startedNanos);
                return;
            }
            Thread.sleep(50);
        }
    }

    private void readPorts() {
        String text = log();
        Matcher admin = ADMIN_PORT.matcher(text);
        if (admin.find()) {
            adminPort = Integer.parseInt(admin.group(1));
        }
        Map<String, InetSocketAddress> found = new LinkedHashMap<>();
        Matcher listener = LISTENER.matcher(text);
        while (listener.find()) {
            String host = listener.group(2).replace("[", "").replace("]", "");
            found.put(listener.group(1), new InetSocketAddress(host, Integer.parseInt(listener.group(3))));
        }
        listeners = Map.copyOf(found);
    }

    /** Whether {@code /actuator/health/readiness} answers 200 UP now. */
    public boolean ready() {
        try {
            HttpResponse<String> r = get("/actuator/health/readiness");
            return r.statusCode() == 200 && r.body().contains("\"status\":\"UP\"");
        } catch (IOException | RuntimeException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ---- what it is

    /** Its {@code portcullis.cluster.replica-id}. */
    public String replicaId() {
        return replicaId;
    }

    /** The id and Redis address of its start line "Cluster: replica ID shares state through Redis at HOST:PORT". */
    public Optional<String> loggedReplicaId() {
        Matcher m = REPLICA.matcher(log());
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** How long after the launch it was ready. */
    public Duration readyAfter() {
        return readyAfter;
    }

    /** {@code http://127.0.0.1:PORT}: the admin API ({@code /admin/**}, with {@link #adminToken}) and the actuator. */
    public URI adminUri() {
        return URI.create("http://127.0.0.1:" + adminPort);
    }

    /** The bearer token of its admin API. */
    public String adminToken() {
        return adminToken;
    }

    /** Where listener {@code name} is bound. */
    public InetSocketAddress listener(String name) {
        InetSocketAddress address = listeners.get(name);
        if (address == null) {
            throw new IllegalArgumentException("no listener '" + name + "' on " + this + " (known: "
                    + listeners.keySet() + ")");
        }
        return address;
    }

    /** Its directory: {@code application.yml} and {@code gateway.log}. */
    public Path dir() {
        return dir;
    }

    // ---- HTTP

    /** GET {@code path} on the admin port, with the admin token; fails after 5 s. */
    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(adminUri().resolve(path)).GET());
    }

    /** POST {@code path} with an empty body on the admin port, with the admin token. */
    public HttpResponse<String> post(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(adminUri().resolve(path)).POST(HttpRequest.BodyPublishers.noBody()));
    }

    /** POST {@code path} with a JSON body ({@code {"action":"accept"}}, say) on the admin port, with the admin token. */
    public HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(adminUri().resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)));
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        if (adminPort == 0) {
            throw new IOException(this + " has not reported its admin port");
        }
        return HTTP.send(request.timeout(Duration.ofSeconds(5)).header("Authorization", "Bearer " + adminToken)
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    /** {@code /actuator/prometheus}, parsed. Fails (with the log's end) when it does not answer 200. */
    public Scrape scrape() throws IOException, InterruptedException {
        HttpResponse<String> r = get("/actuator/prometheus");
        if (r.statusCode() != 200) {
            throw new AssertionError(this + ": /actuator/prometheus answered " + r.statusCode() + "\n" + logTail());
        }
        return Scrape.parse(r.body());
    }

    /**
     * Scrapes every 100 ms until {@code condition} holds, at most {@code within}; returns the scrape that met it.
     * Fails with {@code what}, the last scrape and the log's end.
     */
    public Scrape awaitScrape(String what, Duration within, Predicate<Scrape> condition) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        Scrape last = null;
        Exception error = null;
        while (System.nanoTime() - deadline < 0) {
            try {
                last = scrape();
                if (condition.test(last)) {
                    return last;
                }
            } catch (IOException e) {
                error = e;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(this + ": " + what + " not within " + within + "; last scrape: "
                + (last == null ? "none (" + error + ")" : last.samples()) + "\n" + logTail());
    }

    // ---- ending

    /** SIGKILL (a crash) and waits for the end. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        GatewayProcesses.forget(process);
    }

    /**
     * SIGTERM (a graceful stop: drains for {@code portcullis.shutdown-grace}) and waits up to {@code within};
     * returns the exit status. Not ended by then: killed, and the call fails with the log's end.
     */
    public int stop(Duration within) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
            kill();
            throw new AssertionError(this + " did not end within " + within + " of SIGTERM\n" + logTail());
        }
        GatewayProcesses.forget(process);
        return process.exitValue();
    }

    /**
     * Runs a full GC in the process ({@code jcmd PID GC.run}), so that Netty's leak detector sees buffers that were
     * dropped; it reports them at the next buffer it tracks. Whether jcmd ran.
     */
    public boolean gc() throws InterruptedException {
        if (!process.isAlive()) {
            return false;
        }
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        try {
            Process p = new ProcessBuilder(jcmd.toString(), String.valueOf(pid()), "GC.run")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    // ---- log

    public Path logFile() {
        return logFile;
    }

    /** Its output so far (stdout and stderr). */
    public String log() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The lines of its output that contain {@code text}. */
    public List<String> logLines(String text) {
        return log().lines().filter(l -> l.contains(text)).toList();
    }

    /** Netty's leak reports ({@code LEAK:} lines, at PARANOID every buffer is tracked). */
    public List<String> leaks() {
        return logLines("LEAK:");
    }

    /** The last lines of its output, headed by its name: for assertion messages. */
    public String logTail() {
        List<String> lines = log().lines().toList();
        return "---- " + this + ", last " + Math.min(LOG_TAIL, lines.size()) + " of " + lines.size() + " lines of "
                + logFile + "\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL), lines.size()));
    }

    Process process() {
        return process;
    }

    @Override
    public String toString() {
        return "gateway " + replicaId + " (pid " + process.pid() + ")";
    }
}
