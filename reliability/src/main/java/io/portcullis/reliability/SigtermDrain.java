package io.portcullis.reliability;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Scenario 8: SIGTERM under load. Paced echo relays are in flight on a plain relay listener, clients are pended on
 * two listeners (on-timeout accept, with a request held; on-timeout reject) with a deadline far beyond the test,
 * then the gateway gets SIGTERM. New connects must be refused from then on; pended clients resolved at once per
 * on-timeout (accept: relayed, every byte echoed; reject: reset); the relays told to finish within the grace
 * must end with every byte echoed (SHA-256 of what was sent against what came back); the relays that never
 * finish must be reset at the grace's end, not ended cleanly; the process must exit with 0.
 */
final class SigtermDrain implements Scenario {

    private static final int SOURCES = 50;
    /** A pended client's deadline: far beyond the test, so a resolution before it is the drain's. */
    private static final int INSPECT_TIMEOUT_S = 300;
    /** Finishing relays are told to finish this long after SIGTERM, well inside the grace. */
    private static final int FINISH_AFTER_MS = 2000;

    @Override
    public String name() {
        return "8 SIGTERM under load";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        long started = System.nanoTime();
        int grace = p.shutdownGraceSeconds();
        int relays = p.drainRelays();
        int stubborn = Math.max(1, relays / 5);
        int pended = p.drainPended();
        List<String> problems = new ArrayList<>();
        Path rules = env.work().resolve("sigterm-rules.yaml");
        Files.writeString(rules, "listeners:\n"
                + "  pend-accept:\n    rules:\n      - name: hold-all\n        action: pend\n    default: reject\n"
                + "  pend-reject:\n    rules:\n      - name: hold-all\n        action: pend\n    default: reject\n");
        try (VerifyingBackend backend = new VerifyingBackend(Env.port(), relays + pended + 100)) {
            List<String> inspect = List.of("inspect.timeout=" + INSPECT_TIMEOUT_S + "s",
                    "inspect.max-pending=" + (pended + 100));
            Gateway.Listener relay = new Gateway.Listener("relay", Env.port(), List.of(backend.port()), "5m");
            Gateway.Listener accept = new Gateway.Listener("pend-accept", Env.port(), List.of(backend.port()), "5m",
                    concat(inspect, "inspect.on-timeout=accept"));
            Gateway.Listener reject = new Gateway.Listener("pend-reject", Env.port(), List.of(backend.port()), "5m",
                    concat(inspect, "inspect.on-timeout=reject"));
            Gateway gw = Gateway.start(env, "sigterm", List.of(relay, accept, reject), List.of(),
                    List.of("--portcullis.rules=file:" + rules, "--portcullis.shutdown-grace=" + grace + "s"));
            try (gw) {
                List<Paced> streams = new ArrayList<>();
                for (int i = 0; i < relays; i++) {
                    streams.add(new Paced(2 + i % SOURCES, relay.port(), 1000 + i, i < stubborn));
                }
                streams.forEach(Paced::start);
                // Pended on accept: a request held (header, payload, FIN), answered after the drain's ACCEPT.
                List<Stream> held = new ArrayList<>();
                List<Thread> heldThreads = new ArrayList<>();
                long[] heldEnded = new long[pended / 2];
                for (int i = 0; i < pended / 2; i++) {
                    Stream s = new Stream(2 + i % SOURCES, accept.port(), 'E', 1000, 0, 5000 + i, 120_000);
                    held.add(s);
                    int at = i;
                    Thread t = new Thread(null, () -> {
                        s.run();
                        heldEnded[at] = System.nanoTime();
                    }, "held-" + i, 256 * 1024);
                    t.setDaemon(true);
                    heldThreads.add(t);
                }
                heldThreads.forEach(Thread::start);
                List<Socket> refused = new ArrayList<>();
                for (int i = 0; i < pended - pended / 2; i++) {
                    Socket s = Net.connect(2 + i % SOURCES, reject.port());
                    s.setSoTimeout(120_000);
                    refused.add(s);
                }
                String pendingAccept = "portcullis_pending_inspections{listener=\"pend-accept\"}";
                String pendingReject = "portcullis_pending_inspections{listener=\"pend-reject\"}";
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while ((gw.metric(pendingAccept) < pended / 2 || gw.metric(pendingReject) < pended - pended / 2
                        || streams.stream().anyMatch(s -> s.sent < 256 * 1024)) && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                double pendedSeen = gw.metric(pendingAccept) + gw.metric(pendingReject);
                if (pendedSeen < pended) {
                    problems.add("pended " + (long) pendedSeen + " of " + pended + " before SIGTERM");
                }
                long relaysOpen = streams.stream().filter(s -> s.sent > 0 && s.end == null).count();

                long rss = gw.statusKiB("VmHWM"); // gone from /proc once it exits
                long term = System.nanoTime();
                gw.terminate();
                // New connects: refused from some moment on, and never accepted again after the first refusal.
                long refusedAfterMs = -1;
                int acceptedAfterRefusal = 0;
                int probes = 0;
                long probeUntil = term + TimeUnit.MILLISECONDS.toNanos(FINISH_AFTER_MS);
                while (System.nanoTime() < probeUntil || refusedAfterMs < 0 && System.nanoTime() - term
                        < TimeUnit.SECONDS.toNanos(grace)) {
                    probes++;
                    boolean connected = probe(relay.port());
                    if (!connected && refusedAfterMs < 0) {
                        refusedAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - term);
                    } else if (connected && refusedAfterMs >= 0) {
                        acceptedAfterRefusal++;
                    }
                    Thread.sleep(50);
                }
                if (refusedAfterMs < 0) {
                    problems.add("new connects still accepted " + grace + " s after SIGTERM");
                }
                if (acceptedAfterRefusal > 0) {
                    problems.add(acceptedAfterRefusal + " new connects accepted after the first refusal");
                }
                long sleep = term + TimeUnit.MILLISECONDS.toNanos(FINISH_AFTER_MS) - System.nanoTime();
                if (sleep > 0) {
                    TimeUnit.NANOSECONDS.sleep(sleep);
                }
                for (Paced s : streams) {
                    if (!s.stubborn) {
                        s.stop.set(true);
                    }
                }
                int exit = gw.awaitExit(grace + 60);
                long exitMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - term);
                if (exit != 0) {
                    problems.add("exit status " + exit + (exit == -1 ? " (still running " + (grace + 60) + " s after SIGTERM)" : ""));
                }
                for (Thread t : heldThreads) {
                    t.join(30_000);
                }
                for (Paced s : streams) {
                    s.join(30_000);
                }
                // Pended on accept: relayed at once (long before their deadline), every byte echoed.
                int heldIntact = 0;
                long heldLastMs = 0;
                for (int i = 0; i < held.size(); i++) {
                    heldIntact += held.get(i).outcome == Stream.Outcome.INTACT ? 1 : 0;
                    heldLastMs = Math.max(heldLastMs, TimeUnit.NANOSECONDS.toMillis(heldEnded[i] - term));
                }
                if (heldIntact != held.size()) {
                    problems.add("pended (on-timeout accept) relayed intact " + heldIntact + "/" + held.size());
                }
                // Pended on reject: reset.
                int resets = 0;
                long rejectMs = 0;
                byte[] buf = new byte[4096];
                for (Socket s : refused) {
                    try (s) {
                        Net.End end = Net.drain(s.getInputStream(), buf);
                        resets += end == Net.End.RESET ? 1 : 0;
                    }
                }
                if (resets != refused.size()) {
                    problems.add("pended (on-timeout reject) reset " + resets + "/" + refused.size());
                }
                // Relays told to finish: every byte back; those that never finish: reset, not a clean end.
                int finished = 0;
                int finishers = 0;
                int stubbornReset = 0;
                long lost = 0;
                long moved = 0;
                long lastFinishMs = 0;
                for (Paced s : streams) {
                    moved += s.sent + s.received;
                    if (s.stubborn) {
                        stubbornReset += s.end == Net.End.RESET ? 1 : 0;
                        continue;
                    }
                    finishers++;
                    if (s.intact()) {
                        finished++;
                        lastFinishMs = Math.max(lastFinishMs, TimeUnit.NANOSECONDS.toMillis(s.endedAt - term));
                    } else {
                        lost += Math.max(0, s.sent - s.received);
                        problems.add("relay " + s.seed + ": " + s.end + ", " + s.received + " of " + s.sent
                                + " bytes back" + (s.error == null ? "" : " (" + s.error + ")"));
                    }
                }
                if (stubbornReset != stubborn) {
                    problems.add("relays still open at the grace's end reset " + stubbornReset + "/" + stubborn
                            + " (the others ended cleanly: a cut stream must not look complete)");
                }
                String outcome = "new connects refused " + refusedAfterMs + " ms after SIGTERM (" + probes
                        + " probes, " + acceptedAfterRefusal + " accepted after), pended: accept " + heldIntact + "/"
                        + held.size() + " relayed intact (last " + heldLastMs + " ms after SIGTERM, deadline "
                        + INSPECT_TIMEOUT_S + " s), reject " + resets + "/" + refused.size()
                        + " reset; relays finishing in the grace " + finished + "/" + finishers
                        + " intact (SHA-256, last at " + lastFinishMs + " ms), never finishing " + stubbornReset + "/"
                        + stubborn + " reset at the grace's end; exit " + exit + " after " + exitMs + " ms"
                        + (problems.isEmpty() ? "" : "; " + String.join("; ", problems.subList(0, Math.min(8, problems.size()))));
                return new Result(name(), relays + " paced echo relays (" + relaysOpen + " in flight, " + (moved >> 20)
                        + " MiB moved), " + pended + " pended, grace " + grace + " s",
                        "SIGTERM; " + stubborn + " relays never finish", problems.isEmpty(), outcome, lost,
                        rss, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    private static List<String> concat(List<String> a, String b) {
        List<String> all = new ArrayList<>(a);
        all.add(b);
        return all;
    }

    /** Whether a new connection to the listener is accepted and stays open briefly (not refused, not reset). */
    private static boolean probe(int port) {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(Net.LOOPBACK, 0));
            s.connect(new InetSocketAddress(Net.LOOPBACK, port), 1000);
            s.setSoLinger(true, 0);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * An endless echo stream at a steady pace (16 KiB every 20 ms): it stays in flight until told to stop (then
     * half-closes and reads the echo to its end) or, when stubborn, until the gateway ends it. Both directions
     * are hashed (SHA-256) and compared byte for byte with the deterministic {@link Payload}.
     */
    private static final class Paced {

        final long seed;
        final boolean stubborn;
        final AtomicBoolean stop = new AtomicBoolean();
        volatile long sent;
        volatile long received;
        volatile Net.End end;
        volatile long endedAt;
        volatile String error;
        private volatile boolean matches = true;
        private volatile byte[] sentHash;
        private volatile byte[] receivedHash;
        private final int source;
        private final int port;
        private Thread reader;
        private Thread writer;
        private Socket socket;

        Paced(int source, int port, long seed, boolean stubborn) {
            this.source = source;
            this.port = port;
            this.seed = seed;
            this.stubborn = stubborn;
        }

        void start() {
            try {
                socket = Net.connect(source, port);
                socket.setSoTimeout(120_000);
            } catch (IOException e) {
                error = "connect: " + e.getMessage();
                end = Net.End.RESET;
                return;
            }
            writer = new Thread(null, this::write, "paced-w-" + seed, 256 * 1024);
            reader = new Thread(null, this::read, "paced-r-" + seed, 256 * 1024);
            writer.setDaemon(true);
            reader.setDaemon(true);
            writer.start();
            reader.start();
        }

        void join(long millis) throws InterruptedException, IOException {
            if (reader != null) {
                reader.join(millis);
                writer.join(1000);
            }
            if (socket != null) {
                socket.close();
            }
        }

        boolean intact() {
            return end == Net.End.EOF && matches && received == sent && sentHash != null
                    && Arrays.equals(sentHash, receivedHash);
        }

        private void write() {
            MessageDigest md = Payload.sha256();
            try {
                OutputStream raw = socket.getOutputStream();
                DataOutputStream out = new DataOutputStream(raw);
                out.writeByte('E');
                out.writeLong(Long.MAX_VALUE);
                out.write(new byte[32]);
                out.writeLong(0);
                out.writeLong(seed);
                out.flush();
                byte[] buf = new byte[16 * 1024];
                long off = 0;
                while (!stop.get()) {
                    Payload.fill(seed, off, buf, buf.length);
                    raw.write(buf);
                    md.update(buf);
                    off += buf.length;
                    sent = off;
                    Thread.sleep(20);
                }
                sentHash = md.digest();
                socket.shutdownOutput();
            } catch (IOException e) {
                error = "write: " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void read() {
            MessageDigest md = Payload.sha256();
            byte[] buf = new byte[65536];
            byte[] want = new byte[65536];
            long at = 0;
            Net.End how;
            try {
                InputStream in = socket.getInputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (matches) {
                        Payload.fill(seed, at, want, n);
                        matches = Arrays.equals(buf, 0, n, want, 0, n);
                    }
                    md.update(buf, 0, n);
                    at += n;
                    received = at;
                }
                how = Net.End.EOF;
            } catch (SocketTimeoutException e) {
                how = Net.End.TIMEOUT;
            } catch (IOException e) {
                how = Net.End.RESET;
            }
            receivedHash = md.digest();
            endedAt = System.nanoTime();
            // Linux reports a reset to one call only: when the writer took it, the reader got end of stream.
            try {
                writer.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            String w = error;
            if (how == Net.End.EOF && w != null && w.toLowerCase(java.util.Locale.ROOT).contains("reset")) {
                how = Net.End.RESET;
            }
            end = how;
        }
    }
}
