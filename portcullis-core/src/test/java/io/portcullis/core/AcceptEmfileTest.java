package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.testing.TestClient;
import io.portcullis.core.testing.TestTransports;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Out of files while clients keep connecting: accepting pauses (no busy retry) and the failure is logged, on every
 * transport. A child JVM ({@link AcceptEmfileChild}) runs with a small open-files limit; clients fill it and leave
 * more waiting in the accept queue, so every accept fails with EMFILE; the child's CPU time is then measured.
 */
class AcceptEmfileTest {

    private static final int FILE_LIMIT = 256;
    /** Clients past the limit, left in the accept queue (its backlog is 1,024). */
    private static final int WAITING = 64;
    /** A busy accept loop takes a whole core; a paused one next to nothing. */
    private static final double SPIN_CPU = 0.5;
    private static final long CLOCK_TICKS = 100;

    static Stream<String> transports() {
        return TestTransports.labels();
    }

    @ParameterizedTest
    @MethodSource("transports")
    void atTheOpenFilesLimitAcceptingPausesAndIsLogged(String transport) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path out = Files.createTempFile("accept-emfile-" + transport, ".log");
        Process child = new ProcessBuilder("sh", "-c", "ulimit -n " + FILE_LIMIT + " && exec \"$@\"", "sh",
                java, "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classPath,
                AcceptEmfileChild.class.getName(), transport)
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        List<Socket> clients = new ArrayList<>();
        try {
            int port = awaitPort(child, out);
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", port);
            for (int i = 0; i < FILE_LIMIT + WAITING; i++) {
                Socket s = new Socket();
                clients.add(s);
                s.bind(new InetSocketAddress(TestClient.loopback(2 + i % 100), 0));
                s.connect(target, 5_000);
            }
            assertThat(awaitSteadyFiles(child.pid()))
                    .as("the child's open files, at its limit").isGreaterThanOrEqualTo(FILE_LIMIT - 2);

            Thread.sleep(500);
            long cpu0 = cpuTicks(child.pid());
            long t0 = System.nanoTime();
            Thread.sleep(2_500);
            double cpuPerSecond = (cpuTicks(child.pid()) - cpu0) / (double) CLOCK_TICKS / ((System.nanoTime() - t0) / 1e9);

            String log = Files.readString(out, StandardCharsets.UTF_8);
            System.out.printf("%s: %.3f CPU-s per s at EMFILE%n", transport, cpuPerSecond);
            assertThat(cpuPerSecond).as("CPU-s per s at EMFILE on %s (log %s)", transport, out).isLessThan(SPIN_CPU);
            assertThat(log).as("the child's log on %s", transport)
                    .contains("Listener 'emfile': accepting a connection failed").contains("Too many open files");
            Files.delete(out);
        } finally {
            for (Socket s : clients) {
                s.close();
            }
            child.destroy();
            if (!child.waitFor(10, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
    }

    private static int awaitPort(Process child, Path out) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
                if (line.startsWith("PORT ")) {
                    return Integer.parseInt(line.substring(5).trim());
                }
            }
            if (!child.isAlive()) {
                throw new AssertionError("the child ended (" + child.exitValue() + "): " + Files.readString(out));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the child did not listen within 20 s: " + Files.readString(out));
    }

    /** The child's open files once they stop growing (at most 10 s). */
    private static int awaitSteadyFiles(long pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int last = -1;
        while (System.nanoTime() < deadline) {
            Thread.sleep(250);
            int now;
            try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
                now = (int) fds.count();
            }
            if (now == last && now >= FILE_LIMIT - 2) {
                return now;
            }
            last = now;
        }
        return last;
    }

    /** User and system CPU time of a process, in clock ticks (proc(5): fields 14 and 15 of stat). */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
