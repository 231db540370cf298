package io.portcullis.gateway.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} (the Debian package; the README's test command installs it) on a 127.0.0.1 port of
 * its own, without persistence; stopped, paused or restarted on the same port by the test. Missing: the test is
 * skipped, or fails where peers are required ({@link Peers#require}).
 */
public final class RedisServer implements AutoCloseable {

    private final String binary;
    private final int port;
    private final Path dir;
    private Process process;
    private long pid;

    private RedisServer(String binary, int port, Path dir) {
        this.binary = binary;
        this.port = port;
        this.dir = dir;
    }

    /** Starts one and waits until it answers PING (10 s at most). */
    public static RedisServer start() throws IOException, InterruptedException {
        return startOn(Peers.freePort());
    }

    /** Starts one on {@code port} (a test that had something wait for it there). */
    public static RedisServer startOn(int port) throws IOException, InterruptedException {
        RedisServer server = new RedisServer(Peers.require("redis-server"), port,
                Files.createTempDirectory("portcullis-redis"));
        server.startProcess();
        return server;
    }

    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:PORT}. */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    private void startProcess() throws IOException, InterruptedException {
        process = new ProcessBuilder(List.of(binary, "--port", String.valueOf(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--protected-mode", "yes"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
        pid = process.pid();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!"+PONG".equals(commandOrNull("PING"))) {
            if (!process.isAlive()) {
                throw new IOException("redis-server ended: " + Files.readString(dir.resolve("redis.log")));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("redis-server did not answer PING within 10 s");
            }
            Thread.sleep(20);
        }
    }

    /** Stops it (SIGKILL: what a crash looks like) and waits for the end. */
    public void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Starts it again on the same port, empty. */
    public void restart() throws IOException, InterruptedException {
        kill();
        startProcess();
    }

    /** SIGSTOP: connections stay open, nothing is answered (a hanging Redis). */
    public void pause() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause}. */
    public void resume() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(pid)).start();
        if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill -" + name + " " + pid + " failed");
        }
    }

    /**
     * One inline command's first reply line ({@code +PONG}, {@code :3}, {@code $5} ...), or null when Redis does not
     * answer within a second. For checks from the test, beside the gateway's own client.
     */
    public String commandOrNull(String inline) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            socket.setSoTimeout(1000);
            OutputStream out = socket.getOutputStream();
            out.write((inline + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder line = new StringBuilder();
            for (int b = in.read(); b != -1 && b != '\n'; b = in.read()) {
                if (b != '\r') {
                    line.append((char) b);
                }
            }
            return line.toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** The reply to an integer command ({@code ZCARD key}, {@code DBSIZE}). */
    public long integer(String inline) {
        String reply = commandOrNull(inline);
        if (reply == null || !reply.startsWith(":")) {
            throw new AssertionError(inline + " -> " + reply);
        }
        return Long.parseLong(reply.substring(1));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            resume();
        }
        kill();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Override
    public String toString() {
        return "redis-server on 127.0.0.1:" + port;
    }
}
