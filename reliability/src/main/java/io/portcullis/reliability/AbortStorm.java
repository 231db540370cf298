package io.portcullis.reliability;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Scenario 3: the profile's count of clients pended at once (a rule pends every connection, no decision
 * service, a 60 s deadline), then all gone together: half by a FIN before any byte, half by a reset. Each leaving
 * must be one abort, counted once (meter and audit line), the pended gauge must return to 0, the gateway's open
 * files to where they were, and the leak detector (paranoid) must find nothing.
 */
final class AbortStorm implements Scenario {

    private static final int SOURCES = 100;
    private static final int THREADS = 8;
    /** Pended and reset after a forced GC of the gateway, so that the leak detector reports what it found. */
    private static final int PROBES = 50;
    private static final String LISTENER = "storm";
    private static final String ABORTS =
            "portcullis_pended_outcomes_total{listener=\"" + LISTENER + "\",outcome=\"abort\"}";
    private static final String PENDING = "portcullis_pending_inspections{listener=\"" + LISTENER + "\"}";
    private static final String OUTCOMES = "portcullis_pended_outcomes_total{listener=\"" + LISTENER + "\"";

    @Override
    public String name() {
        return "3 abort storm";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        long started = System.nanoTime();
        int n = pendable(p.pended());
        List<String> problems = new ArrayList<>();
        Path rules = env.work().resolve("abort-storm-rules.yaml");
        Files.writeString(rules, "listeners:\n  " + LISTENER + ":\n    rules:\n      - name: hold-all\n"
                + "        action: pend\n    default: reject\n");
        try (ServerSocket unused = new ServerSocket(Env.port(), 50, Net.LOOPBACK)) {
            Gateway.Listener l = new Gateway.Listener(LISTENER, Env.port(), List.of(unused.getLocalPort()), "5m",
                    List.of("inspect.timeout=60s", "inspect.on-timeout=reject",
                            "inspect.max-pending=" + (n + PROBES + 1000)));
            try (Gateway gw = Gateway.start(env, "abort-storm", List.of(l),
                    List.of("-Dio.netty.leakDetection.level=paranoid"), List.of("--portcullis.rules=file:" + rules))) {
                long filesBefore = gw.openFiles();
                Socket[] clients = new Socket[n];
                parallel(n, i -> clients[i] = Net.connect(2 + i % SOURCES, l.port()));
                boolean allPended = Await.until(() -> gw.metric(PENDING) == n, 30);
                double pendedPeak = gw.metric(PENDING);
                if (!allPended) {
                    problems.add("pended " + (long) pendedPeak + " of " + n + " within 30 s");
                }
                long storm = System.nanoTime();
                parallel(n, i -> leave(clients[i], i % 2 == 0));
                boolean drained = Await.until(() -> gw.metric(PENDING) == 0 && gw.metric(ABORTS) >= n, 15);
                long drainMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - storm);
                if (!drained) {
                    problems.add("still pended after 15 s: " + (long) gw.metric(PENDING));
                }
                Thread.sleep(1000); // a second count of one abort would come now
                long aborts = (long) gw.metric(ABORTS);
                long otherOutcomes = otherOutcomes(gw);
                if (aborts != n) {
                    problems.add("aborts counted " + aborts + ", expected " + n);
                }
                if (otherOutcomes != 0) {
                    problems.add(otherOutcomes + " pends ended otherwise than abort");
                }
                Await.until(() -> auditAborts(gw) >= n, 5);
                long audited = auditAborts(gw);
                if (audited != n) {
                    problems.add("audit lines with outcome abort " + audited + ", expected " + n);
                }
                Await.until(() -> gw.openFiles() <= filesBefore + 5, 10);
                long filesAfter = gw.openFiles();
                if (filesAfter > filesBefore + 5) {
                    problems.add("gateway open files " + filesBefore + " before, " + filesAfter + " after");
                }
                int leaks = leaks(gw, l.port(), aborts, problems);
                long rss = gw.statusKiB("VmHWM");
                String outcome = n + " pended (gauge " + (long) pendedPeak + "), aborts counted " + aborts + "/" + n
                        + " (other outcomes " + otherOutcomes + "), audit abort lines " + audited + ", gauge 0 after "
                        + drainMillis + " ms, open files " + filesBefore + " before / " + filesAfter + " after, "
                        + leaks + " LEAK reports (paranoid)"
                        + (problems.isEmpty() ? "" : "; " + String.join("; ", problems));
                return new Result(name(), n + " pended conns from " + SOURCES + " sources" + (n < p.pended()
                        ? " (capped from " + p.pended() + " by the open-files limit)" : ""),
                        n / 2 + " FIN before any byte, " + (n - n / 2) + " RST", problems.isEmpty(), outcome, 0, rss,
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    /** The wanted count, capped so that this process and the gateway (same limit) each stay below their fds. */
    private static int pendable(int wanted) {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean os) {
            long limit = os.getMaxFileDescriptorCount();
            return (int) Math.max(100, Math.min(wanted, limit - 1000));
        }
        return wanted;
    }

    /** A client leaves: a FIN before any byte (then close) or a reset. */
    private static void leave(Socket s, boolean fin) throws IOException {
        if (fin) {
            s.shutdownOutput();
        } else {
            s.setSoLinger(true, 0);
        }
        s.close();
    }

    private static long otherOutcomes(Gateway gw) {
        long sum = 0;
        for (String line : gw.get("/actuator/prometheus").split("\n")) {
            if (line.startsWith(OUTCOMES) && !line.startsWith(ABORTS)) {
                sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** Audit lines of this listener whose outcome is abort, in the gateway's output. */
    private static long auditAborts(Gateway gw) {
        try (java.util.stream.Stream<String> lines = Files.lines(gw.log())) {
            return lines.filter(x -> x.contains("\"outcome\":\"abort\"")
                    && x.contains("\"listener\":\"" + LISTENER + "\"")).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }

    /**
     * The leak detector reports a leaked buffer only once it is collected and a later buffer is tracked: force a
     * GC in the gateway, pend a few more clients that send a byte (held in a buffer) and reset, then count
     * {@code LEAK:} in its output. Their aborts are counted once each too.
     */
    private static int leaks(Gateway gw, int port, long abortsBefore, List<String> problems) throws Exception {
        if (!gw.gc()) {
            problems.add("jcmd GC.run failed: the leak check saw no collection");
        }
        for (int i = 0; i < PROBES; i++) {
            Socket s = Net.connect(2 + i % SOURCES, port);
            s.getOutputStream().write(new byte[] {'x'});
            Thread.sleep(5);
            leave(s, false);
        }
        Await.until(() -> gw.metric(PENDING) == 0 && gw.metric(ABORTS) >= abortsBefore + PROBES, 10);
        Thread.sleep(500);
        long probeAborts = (long) gw.metric(ABORTS) - abortsBefore;
        if (probeAborts != PROBES) {
            problems.add("probe aborts counted " + probeAborts + ", expected " + PROBES);
        }
        int leaks = (int) gw.logLines("LEAK:");
        if (leaks != 0) {
            problems.add((leaks < 0 ? "cannot read " : leaks + " LEAK reports in ") + gw.log());
        }
        return leaks;
    }

    private interface Step {
        void run(int i) throws Exception;
    }

    /** Runs {@code step} for 0..n-1 on a few threads; the first failure is thrown after all have ended. */
    private static void parallel(int n, Step step) throws Exception {
        AtomicInteger next = new AtomicInteger();
        List<Exception> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Thread th = new Thread(() -> {
                for (int i = next.getAndIncrement(); i < n && failures.isEmpty(); i = next.getAndIncrement()) {
                    try {
                        step.run(i);
                    } catch (Exception e) {
                        failures.add(e);
                    }
                }
            }, "storm-" + t);
            th.setDaemon(true);
            th.start();
            threads.add(th);
        }
        for (Thread th : threads) {
            th.join(60_000);
        }
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
    }

}
