package io.portcullis.reliability;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Scenario 6: a backend process SIGKILLed while echo streams run through it: each stream it carried must end
 * in a reset (never a clean end of a cut stream), the streams on the other backend go on intact, and new
 * connections fail over. Then a backend that accepts and never answers: the idle timeout ends the relay.
 */
final class BackendFailure implements Scenario {

    private static final int STREAMS = 6;

    @Override
    public String name() {
        return "6 backend failure";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        long started = System.nanoTime();
        int killPort = Env.port();
        List<String> problems = new ArrayList<>();
        int cutReset = 0;
        int failedOver = 0;
        long lost = 0;
        try (VerifyingBackend steady = new VerifyingBackend(Env.port(), 200);
             ServerSocket silent = new ServerSocket(Env.port(), 50, Net.LOOPBACK)) {
            Gateway.Listener fail = new Gateway.Listener("fail", Env.port(), List.of(killPort, steady.port()), "5m");
            Gateway.Listener idle = new Gateway.Listener("idle", Env.port(), List.of(silent.getLocalPort()), "2s");
            try (Gateway gw = Gateway.start(env, "backend-failure", List.of(fail, idle))) {
                for (int round = 0; round < p.killRounds(); round++) {
                    Process victim = startBackend(env, killPort);
                    List<Stream> streams = new ArrayList<>();
                    List<Thread> threads = new ArrayList<>();
                    for (int i = 0; i < STREAMS; i++) {
                        Stream s = new Stream(2 + i, fail.port(), 'E', Long.MAX_VALUE, 0, round * 100L + i, 15_000);
                        streams.add(s);
                        Thread t = new Thread(s::run, "stream-" + i);
                        t.setDaemon(true);
                        t.start();
                        threads.add(t);
                    }
                    Thread.sleep(500);
                    victim.destroyForcibly(); // SIGKILL
                    victim.waitFor(10, TimeUnit.SECONDS);
                    Children.remove(victim);
                    Thread.sleep(2000);
                    int cut = 0;
                    for (Stream s : streams) {
                        if (s.outcome == null) {
                            s.stop.set(true);
                        } else {
                            cut++;
                            if (s.outcome == Stream.Outcome.RESET) {
                                cutReset++;
                            } else {
                                problems.add("round " + round + ": a cut stream ended " + s.outcome + " after "
                                        + s.received + " of " + s.sent + " bytes");
                            }
                        }
                    }
                    for (Thread t : threads) {
                        t.join(20_000);
                    }
                    for (Stream s : streams) {
                        if (s.outcome == null || s.outcome == Stream.Outcome.TIMEOUT) {
                            problems.add("round " + round + ": a stream hung");
                        }
                    }
                    if (cut != STREAMS / 2) {
                        problems.add("round " + round + ": " + cut + " streams cut, expected " + STREAMS / 2);
                    }
                    for (Stream s : streams) {
                        if (s.outcome != Stream.Outcome.RESET && s.outcome != Stream.Outcome.INTACT) {
                            lost += s.lost();
                        }
                    }
                    for (int i = 0; i < 10; i++) {
                        Stream s = new Stream(2 + i, fail.port(), 'E', 65536, 0, 9000L + round * 10 + i, 15_000);
                        if (s.run() == Stream.Outcome.INTACT) {
                            failedOver++;
                        } else {
                            problems.add("round " + round + ": a new connection after the kill ended " + s.outcome);
                            lost += s.lost();
                        }
                    }
                }
                long idleMillis = silentBackendEnds(idle.port(), problems);
                String outcome = cutReset + " cut streams reset, " + failedOver + " new connections failed over, "
                        + "silent backend ended after " + idleMillis + " ms (idle-timeout 2s)"
                        + (problems.isEmpty() ? "" : "; " + String.join("; ", problems));
                return new Result(name(), p.killRounds() + " rounds x " + STREAMS + " echo streams on 2 backends",
                        p.killRounds() + " SIGKILL, 1 silent backend", problems.isEmpty(), outcome, lost,
                        gw.statusKiB("VmHWM"), TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    /** A client of a backend that accepts and never answers: the relay must end by the idle timeout. */
    private static long silentBackendEnds(int port, List<String> problems) throws IOException {
        long start = System.nanoTime();
        try (Socket s = Net.connect(2, port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("hello?".getBytes(StandardCharsets.US_ASCII));
            Net.End end = Net.drain(s.getInputStream(), new byte[1024]);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            if (end == Net.End.TIMEOUT || ms > 5000) {
                problems.add("silent backend: relay still open after " + ms + " ms");
            }
            return ms;
        }
    }

    /** The verifying backend as a process of its own, so that SIGKILL is real. */
    private static Process startBackend(Env env, int port) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("java", "-Xmx128m", "-cp", env.classPath(), VerifyingBackend.class.getName(),
                String.valueOf(port)).redirectErrorStream(true).start();
        Children.add(p);
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String line = r.readLine();
            if (line == null) {
                break;
            }
            if (line.startsWith("ready")) {
                return p;
            }
        }
        p.destroyForcibly();
        throw new IOException("killable backend did not start on port " + port);
    }
}
