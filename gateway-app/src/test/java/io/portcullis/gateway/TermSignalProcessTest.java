package io.portcullis.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway as a process of its own: SIGTERM drains it and it exits with 0, not the JVM's 143. */
class TermSignalProcessTest {

    @TempDir
    Path dir;

    @Test
    void sigtermEndsTheGatewayWithExitStatusZero() throws Exception {
        Path out = dir.resolve("out.log");
        List<String> command = List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", System.getProperty("java.class.path"), PortcullisApplication.class.getName(),
                "--server.port=0", "--server.address=127.0.0.1",
                "--portcullis.demo.bind=127.0.0.1:0", "--portcullis.demo.echo-bind=127.0.0.1:0",
                "--portcullis.shutdown-grace=1s");
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile());
        builder.environment().keySet().removeIf(k -> k.startsWith("PORTCULLIS_") || k.startsWith("SPRING_"));
        Process p = builder.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.readString(out).contains("Started PortcullisApplication")) {
                assertThat(p.isAlive()).as("the gateway runs; its output:\n%s", Files.readString(out)).isTrue();
                assertThat(System.nanoTime()).as("started within 120 s").isLessThan(deadline);
                Thread.sleep(100);
            }
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("ended within 60 s of SIGTERM").isTrue();
            assertThat(p.exitValue()).as("exit status; output:\n%s", Files.readString(out)).isZero();
        } finally {
            p.destroyForcibly();
        }
    }
}
