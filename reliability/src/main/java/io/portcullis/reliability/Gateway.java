package io.portcullis.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The gateway jar as a child process: started with its listeners on the command line, measured from /proc. */
final class Gateway implements AutoCloseable {

    private final Process process;
    private final int managementPort;
    private final Path log;

    private Gateway(Process process, int managementPort, Path log) {
        this.process = process;
        this.managementPort = managementPort;
        this.log = log;
    }

    /**
     * A listener: name, port on 127.0.0.1, backends on 127.0.0.1, idle timeout; {@code inspect} keys (under the
     * listener, such as {@code inspect.timeout=60s}) make it a conditional-accept listener, none a plain relay.
     */
    record Listener(String name, int port, List<Integer> backends, String idleTimeout, List<String> inspect) {

        Listener(String name, int port, List<Integer> backends, String idleTimeout) {
            this(name, port, backends, idleTimeout, List.of());
        }
    }

    /** Starts the jar and waits (at most 60 s) until it reports ready. */
    static Gateway start(Env env, String label, List<Listener> listeners) throws IOException, InterruptedException {
        return start(env, label, listeners, List.of(), List.of());
    }

    /**
     * As {@link #start(Env, String, List)}, with more JVM options (before {@code -jar}) and more gateway
     * arguments ({@code --portcullis.rules=...}).
     */
    static Gateway start(Env env, String label, List<Listener> listeners, List<String> jvmOptions,
            List<String> arguments) throws IOException, InterruptedException {
        return start(env, label, listeners, jvmOptions, arguments, 0);
    }

    /**
     * As {@link #start(Env, String, List, List, List)}, with the open-files limit of the gateway process set to
     * {@code fileLimit} ({@code ulimit -n} before the JVM starts, so that its accept loop meets EMFILE); 0 keeps
     * the suite's own limit.
     */
    static Gateway start(Env env, String label, List<Listener> listeners, List<String> jvmOptions,
            List<String> arguments, int fileLimit) throws IOException, InterruptedException {
        int mgmt = Env.port();
        List<String> cmd = new ArrayList<>(List.of("java", "-Xmx256m", "-XX:MaxDirectMemorySize=256m"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-jar", env.jar().toString(), "--server.port=" + mgmt, "--server.address=127.0.0.1"));
        cmd.addAll(arguments);
        for (int i = 0; i < listeners.size(); i++) {
            Listener l = listeners.get(i);
            String p = "--portcullis.listeners[" + i + "].";
            cmd.add(p + "name=" + l.name());
            cmd.add(p + "bind=127.0.0.1:" + l.port());
            cmd.add(p + "conditional-accept=" + !l.inspect().isEmpty());
            for (String key : l.inspect()) {
                cmd.add(p + key);
            }
            cmd.add(p + "health-check.enabled=false");
            cmd.add(p + "connect-timeout=1s");
            cmd.add(p + "idle-timeout=" + l.idleTimeout());
            for (int b = 0; b < l.backends().size(); b++) {
                cmd.add(p + "backends[" + b + "]=127.0.0.1:" + l.backends().get(b));
            }
        }
        if (fileLimit > 0) {
            // exec: the shell becomes the JVM, so that pid() and /proc are the gateway's own.
            List<String> wrapped = new ArrayList<>(List.of("bash", "-c", "ulimit -n " + fileLimit + " && exec \"$@\"",
                    "gateway"));
            wrapped.addAll(cmd);
            cmd = wrapped;
        }
        Path log = env.work().resolve("gateway-" + label + ".log");
        Process process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Children.add(process);
        Gateway g = new Gateway(process, mgmt, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("gateway exited at start (" + process.exitValue() + "); see " + log);
            }
            if (g.get("/actuator/health/readiness").contains("UP")) {
                return g;
            }
            Thread.sleep(250);
        }
        g.close();
        throw new IOException("gateway not ready within 60 s; see " + log);
    }

    /** The HTTP port: admin API and actuator. */
    int httpPort() {
        return managementPort;
    }

    long pid() {
        return process.pid();
    }

    /** A /proc/PID/status field in KiB (VmRSS, VmHWM), -1 when gone. */
    long statusKiB(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid() + "/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone
        }
        return -1;
    }

    /** CPU time of the gateway process so far (user + system), in clock ticks (1/100 s on Linux); -1 when gone. */
    long cpuTicks() {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid() + "/stat"));
            // After the command name, which may hold spaces: state is field 3, utime 14 and stime 15.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Runs a full garbage collection in the gateway ({@code jcmd GC.run}); whether it ran within 20 s. */
    boolean gc() throws IOException, InterruptedException {
        Process gc = new ProcessBuilder("jcmd", String.valueOf(pid()), "GC.run").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!gc.waitFor(20, TimeUnit.SECONDS)) {
            gc.destroyForcibly();
            return false;
        }
        return gc.exitValue() == 0;
    }

    /** Open file descriptors of the gateway, -1 when unreadable. */
    long openFiles() {
        String[] fds = new java.io.File("/proc/" + pid() + "/fd").list();
        return fds == null ? -1 : fds.length;
    }

    /** GET on the management port; empty on any error. */
    String get(String path) {
        return get(path, null);
    }

    /** GET on the management port with the admin token ({@code null}: none); the body, empty on any error. */
    String get(String path, String token) {
        try {
            HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + managementPort + path).openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(5000);
            if (token != null) {
                c.setRequestProperty("Authorization", "Bearer " + token);
            }
            try (InputStream in = c.getResponseCode() < 400 ? c.getInputStream() : c.getErrorStream()) {
                return in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            return "";
        }
    }

    /** The value of a Prometheus sample line starting with {@code prefix}, 0 when absent. */
    double metric(String prefix) {
        for (String line : get("/actuator/prometheus").split("\n")) {
            if (line.startsWith(prefix)) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }

    /** The sum of the samples of {@code meter} whose line contains {@code tag} (every sample when empty). */
    double sum(String meter, String tag) {
        double v = 0;
        for (String line : get("/actuator/prometheus").split("\n")) {
            if (line.startsWith(meter + "{") && line.contains(tag)) {
                v += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return v;
    }

    Path log() {
        return log;
    }

    /** Lines of the gateway's output that contain {@code text}; -1 when it cannot be read. */
    long logLines(String text) {
        try (java.util.stream.Stream<String> lines = Files.lines(log)) {
            return lines.filter(x -> x.contains(text)).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }

    /** Sends SIGTERM (what {@link Process#destroy()} sends on Linux), without waiting. */
    void terminate() {
        process.destroy();
    }

    /** The exit status once the process has ended, -1 if it still runs after {@code seconds}. */
    int awaitExit(int seconds) throws InterruptedException {
        return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        Children.remove(process);
    }
}
