package io.portcullis.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scenario 4: the profile's count of connection attempts in one burst, from many sources, against a gateway
 * whose open-files limit is {@value #FILE_LIMIT}. Most go to a listener that pends every connection (no decision
 * service, a 10-minute deadline) with {@code max-pending} {@value #MAX_PENDING} and {@code on-overflow: reject};
 * {@value #HELD} go to a plain listener whose backend completes every connect and never reads, so that the held
 * relays (two files each) pass the limit and the accept loop meets EMFILE. Meanwhile a few long-lived relays
 * echo data through a third listener. Checked: each overflow rejected and counted once; the long-lived relays
 * keep flowing, byte-exact; at the limit, with connections waiting in the accept queue, the gateway does not
 * spin (CPU time per wall second); heap and RSS stay bounded; when the flood is gone the pended gauge returns to
 * 0, the open files to where they were, and a new connection is relayed and a new one pended.
 */
final class Flood implements Scenario {

    private static final int FILE_LIMIT = 1024;
    private static final int MAX_PENDING = 500;
    private static final int HELD = 600;
    private static final int RELAYS = 4;
    private static final int SOURCES = 100;
    /** How long the gateway is watched at its open-files limit, the burst over. */
    private static final int EMFILE_SECONDS = 5;
    /** Above this the gateway spins at EMFILE: a busy accept loop takes a whole core. */
    private static final double SPIN_CPU = 0.5;
    /** -Xmx256m and 256 MiB of direct memory, code and metaspace: past this the flood grew something unbounded. */
    private static final long RSS_BOUND_KIB = 768L << 10;
    private static final String FLOOD = "flood";
    private static final String HOLD = "hold";
    private static final String LIVE = "live";
    private static final String PENDING = "portcullis_pending_inspections{listener=\"" + FLOOD + "\"}";
    private static final String OVERFLOWS =
            "portcullis_pended_outcomes_total{listener=\"" + FLOOD + "\",outcome=\"overflow\"}";
    private static final String CONNECTIONS = "portcullis_connections_total{listener=\"" + FLOOD + "\"}";
    private static final String OUTCOMES = "portcullis_pended_outcomes_total{listener=\"" + FLOOD + "\",";
    private static final String UNAVAILABLE = "portcullis_backend_unavailable_total{listener=\"" + HOLD + "\"}";

    @Override
    public String name() {
        return "4 flood";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        long started = System.nanoTime();
        List<String> problems = new ArrayList<>();
        Path rules = env.work().resolve("flood-rules.yaml");
        Files.writeString(rules, "listeners:\n  " + FLOOD + ":\n    rules:\n      - name: hold-all\n"
                + "        action: pend\n    default: reject\n");
        // The hold backend never accepts: the kernel completes each connect into its queue, which costs no file here.
        try (EchoBackend echo = new EchoBackend(); ServerSocket hold = new ServerSocket(Env.port(), 4096, Net.LOOPBACK)) {
            Gateway.Listener flood = new Gateway.Listener(FLOOD, Env.port(), List.of(echo.port()), "5m",
                    List.of("inspect.timeout=10m", "inspect.on-timeout=reject", "inspect.max-pending=" + MAX_PENDING,
                            "inspect.on-overflow=reject"));
            Gateway.Listener held = new Gateway.Listener(HOLD, Env.port(), List.of(hold.getLocalPort()), "5m");
            Gateway.Listener live = new Gateway.Listener(LIVE, Env.port(), List.of(echo.port()), "5m");
            try (Gateway gw = Gateway.start(env, "flood", List.of(flood, held, live), List.of(),
                    List.of("--portcullis.rules=file:" + rules), FILE_LIMIT)) {
                long filesBefore = gw.openFiles();
                List<Relay> relays = new ArrayList<>();
                for (int i = 0; i < RELAYS; i++) {
                    relays.add(new Relay(live.port(), 2 + i, i));
                }
                if (!Await.until(() -> relays.stream().allMatch(r -> r.bytes.get() > 0), 10)) {
                    problems.add("the long-lived relays did not start flowing within 10 s");
                }
                long[] relayedBefore = relays.stream().mapToLong(r -> r.bytes.get()).toArray();

                // The burst: the first half fills the pend slots and overflows; in the second half every few
                // attempts is a held relay, so that the open files pass the limit while the flood goes on.
                int n = p.flood();
                int[] ports = new int[n];
                Flooder.Tally toFlood = new Flooder.Tally();
                Flooder.Tally toHold = new Flooder.Tally();
                Flooder.Tally[] tallies = new Flooder.Tally[n];
                int every = Math.max(1, n / 2 / HELD);
                for (int i = 0; i < n; i++) {
                    boolean h = i >= n / 2 && (i - n / 2) % every == 0 && (i - n / 2) / every < HELD;
                    ports[i] = h ? held.port() : flood.port();
                    tallies[i] = h ? toHold : toFlood;
                }
                long peakFiles = 0;
                long peakPending = 0;
                long burstStart = System.nanoTime();
                // The second half waits until the first is done: the pend slots fill and overflow before the held
                // relays take the files, however slowly the gateway accepts on a busy machine.
                Flooder flooder = new Flooder(ports, tallies, SOURCES, n / 2);
                try {
                    long deadline = burstStart + TimeUnit.SECONDS.toNanos(p.name().equals("long") ? 300 : 45);
                    for (int phase = 0; phase < 2; phase++) {
                        if (phase == 1) {
                            flooder.release();
                        }
                        while (!flooder.settled() && System.nanoTime() < deadline) {
                            peakFiles = Math.max(peakFiles, gw.openFiles());
                            peakPending = Math.max(peakPending, (long) gw.metric(PENDING));
                            Thread.sleep(100);
                        }
                    }
                    long burstMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - burstStart);
                    if (!flooder.settled()) {
                        problems.add("the burst had not settled after " + burstMillis + " ms");
                    }
                    peakPending = Math.max(peakPending, (long) gw.metric(PENDING));

                    // At the limit, the burst over: connections wait in the accept queue and EMFILE comes back at
                    // every try. A gateway that retries at once spins; one that pauses accepting does not.
                    Thread.sleep(500);
                    long queued = acceptQueue(flood.port()) + acceptQueue(held.port());
                    long filesAtLimit = gw.openFiles();
                    peakFiles = Math.max(peakFiles, filesAtLimit);
                    long emfileLines = count(gw.log(), "Too many open files");
                    long[] relayedAtLimit = relays.stream().mapToLong(r -> r.bytes.get()).toArray();
                    long cpu0 = gw.cpuTicks();
                    long t0 = System.nanoTime();
                    Thread.sleep(TimeUnit.SECONDS.toMillis(EMFILE_SECONDS));
                    for (int i = 0; i < RELAYS; i++) {
                        relayedAtLimit[i] = relays.get(i).bytes.get() - relayedAtLimit[i];
                        if (relayedAtLimit[i] == 0) {
                            problems.add("relay " + i + " moved no byte while the gateway was at its open-files limit");
                        }
                    }
                    double cpuPerSecond = (gw.cpuTicks() - cpu0) / 100.0
                            / ((System.nanoTime() - t0) / 1e9);
                    long emfileLinesWatched = count(gw.log(), "Too many open files") - emfileLines;
                    long queuedAfter = acceptQueue(flood.port()) + acceptQueue(held.port());
                    if (filesAtLimit < FILE_LIMIT - 50) {
                        problems.add("the gateway held " + filesAtLimit + " files, not near its limit " + FILE_LIMIT
                                + ": EMFILE untested");
                    }
                    if (emfileLinesWatched > 10L * EMFILE_SECONDS) {
                        problems.add(emfileLinesWatched + " EMFILE log lines in " + EMFILE_SECONDS + " s (a retry loop)");
                    }
                    if (cpuPerSecond > SPIN_CPU) {
                        problems.add(String.format("gateway CPU %.2f s per s at the open-files limit (spin)",
                                cpuPerSecond));
                    }

                    int endedByGateway = toFlood.closedByGateway.get();
                    int refusedAtConnect = toFlood.refused.get();
                    if (peakPending > MAX_PENDING) {
                        problems.add("pended " + peakPending + " at once, past max-pending " + MAX_PENDING);
                    }
                    long[] relayedDuring = new long[RELAYS];
                    for (int i = 0; i < RELAYS; i++) {
                        relayedDuring[i] = relays.get(i).bytes.get() - relayedBefore[i];
                        if (relayedDuring[i] == 0) {
                            problems.add("relay " + i + " moved no byte during the flood");
                        }
                    }
                    long heapKiB = heapUsedKiB(gw, env.work().resolve("flood-heap.txt"));
                    long rssFlood = gw.statusKiB("VmRSS");

                    // The flood stops: every flood socket closed (FIN), the held relays too.
                    String floodTally = "flood listener: " + toFlood + "; hold listener: " + toHold;
                    flooder.close();
                    flooder = null;
                    // The held relays wait for their backend's FIN (half-close): closing its queue resets them.
                    hold.close();
                    long recoverStart = System.nanoTime();
                    boolean drained = Await.until(() -> gw.metric(PENDING) == 0, 30);
                    if (!drained) {
                        problems.add("pended gauge " + (long) gw.metric(PENDING) + " 30 s after the flood");
                    }
                    boolean filesBack = Await.until(() -> gw.openFiles() <= filesBefore + 10, 30);
                    long filesAfter = gw.openFiles();
                    if (!filesBack) {
                        problems.add("gateway open files " + filesBefore + " before, " + filesAfter + " after");
                    }
                    long recoverMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - recoverStart);

                    // The overflow: every flood connection the gateway ended was a refused pend, counted; each
                    // accepted connection ended exactly one way (the queued ones are accepted after the flood).
                    // The queue empties at the gateway's pace after the flood: wait until every accepted one ended.
                    if (!Await.until(() -> acceptQueue(flood.port()) <= 0 && gw.metric(PENDING) == 0
                            && outcomes(gw) == (long) gw.metric(CONNECTIONS), 30)) {
                        problems.add("accept queue " + acceptQueue(flood.port()) + " and pended "
                                + (long) gw.metric(PENDING) + " 30 s after the flood");
                    }
                    long overflows = (long) gw.metric(OVERFLOWS);
                    long accepted = (long) gw.metric(CONNECTIONS);
                    long outcomes = outcomes(gw);
                    // A reject may come before the client saw its connect done: a reset at connect, tallied refused.
                    int rejectsSeen = endedByGateway + refusedAtConnect;
                    if (overflows == 0 || overflows < rejectsSeen) {
                        problems.add("overflows counted " + overflows + ", rejects seen by the clients " + rejectsSeen);
                    }
                    if (outcomes != accepted) {
                        problems.add("flood listener accepted " + accepted + " connections, pend outcomes " + outcomes);
                    }
                    String fresh = freshConnections(gw, live.port(), flood.port());
                    if (!fresh.isEmpty()) {
                        problems.add(fresh);
                    }
                    for (Relay r : relays) {
                        r.stop();
                    }
                    long relayErrors = relays.stream().filter(r -> r.failure != null).count();
                    for (Relay r : relays) {
                        if (r.failure != null) {
                            problems.add("relay " + r.index + ": " + r.failure);
                        }
                    }
                    // A held relay the gateway ended had no backend socket (EMFILE at socket()): counted as such.
                    // Every one its client saw ended is counted; a queued one the gateway took after the flood stopped,
                    // and failed at socket(), is counted too while its client, gone, saw nothing: not more than tried.
                    long unavailable = (long) gw.metric(UNAVAILABLE);
                    long holdEnded = toHold.closedByGateway.get() + toHold.refused.get();
                    if (unavailable < holdEnded || unavailable > toHold.attempted.get()) {
                        problems.add("hold clients ended by the gateway " + holdEnded + ", backend unavailable counted "
                                + unavailable + " of " + toHold.attempted.get() + " attempts");
                    }
                    long oom = count(gw.log(), "OutOfMemoryError");
                    if (oom != 0) {
                        problems.add(oom + " OutOfMemoryError lines in " + gw.log());
                    }
                    long rss = gw.statusKiB("VmHWM");
                    if (rss > RSS_BOUND_KIB) {
                        problems.add("gateway peak RSS " + rss / 1024 + " MiB, past " + RSS_BOUND_KIB / 1024 + " MiB");
                    }
                    String outcome = String.format("%s; pended peak %d (max %d), overflows counted %d (rejects seen by"
                            + " clients %d; accepted %d, pend outcomes %d), hold backend unavailable %d; gateway files peak %d (limit %d), accept queue"
                            + " %d then %d, at the limit %.2f CPU-s/s over %d s with %d EMFILE log lines; relays moved"
                            + " %s bytes during the flood (%s at the limit), %d failed; heap used %d MiB, RSS %d MiB at the limit;"
                            + " recovered in %d ms (gauge 0, files %d before / %d after, fresh relay and pend ok: %s)",
                            floodTally, peakPending, MAX_PENDING, overflows, rejectsSeen, accepted, outcomes,
                            unavailable, peakFiles, FILE_LIMIT, queued, queuedAfter, cpuPerSecond,
                            EMFILE_SECONDS, emfileLinesWatched, Arrays.toString(relayedDuring), Arrays.toString(relayedAtLimit), relayErrors,
                            heapKiB / 1024, rssFlood / 1024, recoverMillis, filesBefore, filesAfter, fresh.isEmpty())
                            + (problems.isEmpty() ? "" : "; " + String.join("; ", problems));
                    return new Result(name(), n + " connects in a burst from " + SOURCES + " sources (" + HELD
                            + " held relays), " + RELAYS + " live echo relays, max-pending " + MAX_PENDING
                            + ", open-files limit " + FILE_LIMIT,
                            "pend overflow, EMFILE at accept (and at backend sockets when the limit"
                            + " comes there first)", problems.isEmpty(), outcome, 0, rss,
                            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
                } finally {
                    if (flooder != null) {
                        flooder.close();
                    }
                    for (Relay r : relays) {
                        r.stop();
                    }
                }
            }
        }
    }

    /**
     * After the flood: 64 KiB echoed byte-exact through the live listener, and a connection to the flood
     * listener pended (gauge 1), then gone (gauge 0). Empty when both held, else what failed.
     */
    private static String freshConnections(Gateway gw, int livePort, int floodPort) throws Exception {
        byte[] sent = new byte[64 * 1024];
        new SplittableRandom(4).nextBytes(sent);
        try (Socket s = Net.connect(2, livePort)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(sent);
            s.shutdownOutput();
            byte[] got = s.getInputStream().readAllBytes();
            if (!Arrays.equals(sent, got)) {
                return "a fresh relay after the flood echoed " + got.length + " bytes, not the 65536 sent";
            }
        } catch (IOException e) {
            return "a fresh relay after the flood failed: " + e;
        }
        try (Socket s = Net.connect(3, floodPort)) {
            if (!Await.until(() -> gw.metric(PENDING) == 1, 10)) {
                return "a fresh connection after the flood was not pended (gauge " + (long) gw.metric(PENDING) + ")";
            }
        }
        if (!Await.until(() -> gw.metric(PENDING) == 0, 10)) {
            return "the fresh pended connection stayed pended after it left";
        }
        return "";
    }

    /** Connections waiting in the accept queue of a listening port on 127.0.0.1 (/proc/net/tcp), -1 when unknown. */
    private static long acceptQueue(int port) {
        String local = String.format(":%04X", port);
        List<String> lines = new ArrayList<>();
        try {
            // The JVM may bind 127.0.0.1 on an IPv6 socket (::ffff:127.0.0.1): tcp6 then.
            lines.addAll(Files.readAllLines(Path.of("/proc/net/tcp")));
            lines.addAll(Files.readAllLines(Path.of("/proc/net/tcp6")));
            for (String line : lines) {
                String[] f = line.trim().split("\\s+");
                // sl local remote st tx_queue:rx_queue ...; for a listening socket (0A) rx_queue is the accept queue.
                if (f.length > 4 && f[1].endsWith(local) && f[3].equals("0A")) {
                    return Long.parseLong(f[4].substring(f[4].indexOf(':') + 1), 16);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /**
     * The gateway's used heap (survivors, eden, old) from {@code jstat -gc}, in KiB; -1 when unknown. jstat reads
     * the JVM's performance file from outside: it works when the gateway has no file left to attach with.
     */
    private static long heapUsedKiB(Gateway gw, Path out) throws InterruptedException {
        try {
            Process p = new ProcessBuilder("jstat", "-gc", String.valueOf(gw.pid())).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).start();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            List<String> lines = Files.readAllLines(out);
            List<String> head = Arrays.asList(lines.get(0).trim().split("\\s+"));
            String[] row = lines.get(1).trim().split("\\s+");
            double used = 0;
            for (String column : List.of("S0U", "S1U", "EU", "OU")) {
                used += Double.parseDouble(row[head.indexOf(column)]);
            }
            return (long) used;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The sum of the flood listener's pend outcomes. */
    private static long outcomes(Gateway gw) {
        long sum = 0;
        for (String line : gw.get("/actuator/prometheus").split("\n")) {
            if (line.startsWith(OUTCOMES)) {
                sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    private static long count(Path log, String text) {
        try (java.util.stream.Stream<String> lines = Files.lines(log)) {
            return lines.filter(x -> x.contains(text)).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }

    /** A long-lived relay: 4 KiB out, the same 4 KiB back and compared, every 20 ms, until stopped. */
    private static final class Relay implements Runnable {

        final int index;
        final AtomicLong bytes = new AtomicLong();
        volatile String failure;
        private final Socket socket;
        private final Thread thread;
        private volatile boolean stopped;

        Relay(int port, int source, int index) throws IOException {
            this.index = index;
            this.socket = Net.connect(source, port);
            socket.setSoTimeout(15_000);
            this.thread = new Thread(this, "relay-" + index);
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            SplittableRandom rnd = new SplittableRandom(index);
            byte[] out = new byte[4096];
            byte[] in = new byte[4096];
            try {
                OutputStream o = socket.getOutputStream();
                InputStream i = socket.getInputStream();
                while (!stopped) {
                    rnd.nextBytes(out);
                    o.write(out);
                    int n = 0;
                    while (n < in.length) {
                        int r = i.read(in, n, in.length - n);
                        if (r < 0) {
                            throw new IOException("end of stream after " + (bytes.get() + n) + " bytes");
                        }
                        n += r;
                    }
                    if (!Arrays.equals(out, in)) {
                        throw new IOException("echo differs after " + bytes.get() + " bytes");
                    }
                    bytes.addAndGet(n);
                    Thread.sleep(20); // a trickle: the gateway's CPU at the limit is mostly its accept loop
                }
            } catch (IOException e) {
                if (!stopped) {
                    failure = e.toString();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void stop() throws InterruptedException {
            if (stopped) {
                return;
            }
            stopped = true;
            thread.join(20_000);
            try {
                socket.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

}
