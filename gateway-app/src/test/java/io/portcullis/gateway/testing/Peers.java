package io.portcullis.gateway.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real peers started by a test (HAProxy, {@code openssl s_server}, {@code curl}): found on the PATH, started on
 * 127.0.0.1 ports of their own, stopped with the test. The README's test command installs them and sets
 * {@code PORTCULLIS_REQUIRE_PEERS=1}, which turns a missing one into a failure; a bare {@code mvn verify}
 * without them skips those tests and says which binary is missing.
 */
public final class Peers implements AutoCloseable {

    private final List<Process> processes = new ArrayList<>();
    private final Path dir;

    public Peers() throws IOException {
        dir = Files.createTempDirectory("portcullis-peers");
    }

    /** The directory for configs, keys and logs; deleted on close. */
    public Path dir() {
        return dir;
    }

    /** The path of {@code binary}, or the test is skipped (failed where peers are required). */
    public static String require(String binary) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            for (String base : List.of(d, "/usr/sbin", "/sbin")) {
                Path p = Path.of(base, binary);
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
        }
        if ("1".equals(System.getenv("PORTCULLIS_REQUIRE_PEERS"))) {
            throw new AssertionError(binary + " is not installed, and PORTCULLIS_REQUIRE_PEERS=1");
        }
        assumeTrue(false, binary + " is not installed (the README's test command installs it)");
        return binary;
    }

    /** A port on 127.0.0.1 that was free a moment ago. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code command}, its output to {@code name}.log in {@link #dir}. */
    public Process start(String name, List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile()).start();
        processes.add(p);
        return p;
    }

    /** Runs {@code command} to its end within {@code deadline}; returns its exit code and output. */
    public Result run(List<String> command, String stdin, Duration deadline) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "run", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try (var in = p.getOutputStream()) {
            in.write(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        if (!p.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not end within " + deadline + ": " + Files.readString(out));
        }
        return new Result(p.exitValue(), Files.readString(out));
    }

    /** What a command ended with. */
    public record Result(int exit, String output) {
    }

    /** Waits until something listens on 127.0.0.1:{@code port}, or fails with {@code name}'s log. */
    public void awaitListening(String name, int port, Duration deadline) throws IOException, InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        while (System.nanoTime() < end) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        Path log = dir.resolve(name + ".log");
        assertThat(false).as("%s listening on %s within %s; its log: %s", name, port, deadline,
                Files.exists(log) ? Files.readString(log) : "(none)").isTrue();
    }

    @Override
    public void close() throws IOException {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
