package io.portcullis.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.testing.TestClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Runs the example as a user would, in its own JVM: its prompts answered on stdin, real clients on loopback. */
class AskOnStdinTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private Process process;
    private final BlockingQueue<String> out = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        if (process != null) {
            process.destroyForcibly();
        }
    }

    @Test
    void theUserLetsOneConnectionThroughAndTurnsOneAway() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        process = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                AskOnStdin.class.getName(), "127.0.0.1:0").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    out.add(line);
                }
            } catch (Exception e) {
                out.add("read failed: " + e);
            }
        });
        reader.setDaemon(true);
        reader.start();
        OutputStream stdin = process.getOutputStream();

        Matcher listening = expect("listening on /127\\.0\\.0\\.1:(\\d+);.*");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", Integer.parseInt(listening.group(1)));

        try (TestClient welcome = TestClient.connect(TestClient.loopback(2), address)) {
            welcome.write("hello".getBytes(StandardCharsets.US_ASCII));
            expect("connection \\d+ from /127\\.0\\.0\\.2:\\d+: accept\\? \\[y/n\\]");
            stdin.write("y\n".getBytes(StandardCharsets.US_ASCII));
            stdin.flush();
            assertThat(new String(welcome.readExactly(5, DEADLINE), StandardCharsets.US_ASCII)).isEqualTo("hello");
        }
        try (TestClient unwelcome = TestClient.connect(TestClient.loopback(3), address)) {
            expect("connection \\d+ from /127\\.0\\.0\\.3:\\d+: accept\\? \\[y/n\\]");
            stdin.write("n\n".getBytes(StandardCharsets.US_ASCII));
            stdin.flush();
            unwelcome.expectReset(DEADLINE);
        }
        // A question left unanswered: the end of stdin ends the program, cleanly.
        try (TestClient last = TestClient.connect(TestClient.loopback(4), address)) {
            expect("connection \\d+ from /127\\.0\\.0\\.4:\\d+: accept\\? \\[y/n\\]");
            stdin.close();
            assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)).as("exits at the end of stdin").isTrue();
            assertThat(process.exitValue()).isZero();
        }
    }

    private Matcher expect(String regex) throws InterruptedException {
        Pattern pattern = Pattern.compile(regex);
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < end) {
            String line = out.poll(100, TimeUnit.MILLISECONDS);
            if (line != null) {
                Matcher m = pattern.matcher(line);
                if (m.matches()) {
                    return m;
                }
            }
        }
        throw new AssertionError("no line matching " + regex + " within " + DEADLINE);
    }
}
