package io.portcullis.reliability;

import io.portcullis.reliability.FakeDecisionService.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scenario 11: the soak. Steady mixed traffic for the profile's {@code soakSeconds}: echo and server-first streams
 * (SHA-checked) through a plain relay, and pended streams through a listener whose every connection asks a fake
 * decision service that alternates between well and one fault after another (500, hanging, down, garbage,
 * flapping, slow, closing mid-answer), while the rules file is rewritten in turn valid and broken. The service
 * answers accept and {@code on-failure} and {@code on-timeout} accept too, so every stream must come back intact
 * whoever decided. The gateway is measured idle after a warm-up and idle again after the soak (each after a full
 * GC): open files, threads, pending inspections, live heap, direct memory and resident set must be flat; Netty's
 * leak detector ({@code paranoid}) must report nothing.
 */
final class Soak implements Scenario {

    private static final String RELAY = "soak-relay";
    private static final String DECIDE = "soak-decide";
    private static final String SERVICE = "soak";
    private static final List<Mode> FAULTS = List.of(Mode.ERROR_500, Mode.HANG, Mode.DOWN, Mode.GARBAGE, Mode.FLAP,
            Mode.SLOW, Mode.CLOSE_MID);
    private static final String SUCCESS = "portcullis_policy_reloads_total{result=\"success\"";
    private static final String FAILURE = "portcullis_policy_reloads_total{result=\"failure\"";
    private static final String PENDING = "portcullis_pending_inspections{listener=\"" + DECIDE + "\"}";
    private static final String DECISIONS = "portcullis_decision_requests_total";
    /** A stream that sees nothing for this long is hung (the rule's deadline is 3 s). */
    private static final int HUNG_MILLIS = 30_000;
    private static final long MIB = 1024 * 1024;

    /** The gateway at one moment. */
    private record Sample(long second, long rssKiB, long files, long threads, double pending, long heapMiB,
                          long directMiB) {

        @Override
        public String toString() {
            return "RSS " + rssKiB / 1024 + " MiB, open files " + files + ", threads " + threads + ", pending "
                    + (long) pending + ", heap " + heapMiB + " MiB, direct " + directMiB + " MiB";
        }
    }

    @Override
    public String name() {
        return "11 soak";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        long started = System.nanoTime();
        int seconds = p.soakSeconds();
        int warm = Math.max(10, Math.min(60, seconds / 10));
        int phaseSeconds = Math.max(3, seconds / 90);
        int reloadSeconds = Math.max(4, seconds / 120);
        int sampleSeconds = Math.max(5, seconds / 30);
        List<String> problems = new ArrayList<>();
        String token = "soak-token-" + Long.toHexString(System.nanoTime()) + "x";
        Path rules = env.work().resolve("soak-rules.yaml").toAbsolutePath();
        Files.writeString(rules, rules(0));
        try (VerifyingBackend backend = new VerifyingBackend(Env.port(), 4 * p.soakClients() + 100);
             FakeDecisionService svc = new FakeDecisionService(Env.port())) {
            Gateway.Listener relay = new Gateway.Listener(RELAY, Env.port(), List.of(backend.port()), "1m");
            Gateway.Listener decide = new Gateway.Listener(DECIDE, Env.port(), List.of(backend.port()), "1m",
                    List.of("inspect.timeout=30s", "inspect.on-timeout=accept", "inspect.max-pending=10000"));
            List<String> args = new ArrayList<>(List.of("--portcullis.rules=file:" + rules,
                    "--portcullis.rules-check-interval=500ms", "--portcullis.admin.token=" + token));
            args.addAll(DecisionFaults.service(SERVICE, svc.url("/decide/accept"), "accept"));
            try (Gateway gw = Gateway.start(env, "soak", List.of(relay, decide),
                    List.of("-Dio.netty.leakDetection.level=paranoid"), args)) {
                // Warm-up: the JIT, the pools and the heap reach their working size before the first measure.
                Load warmLoad = new Load(p, relay.port(), decide.port());
                Thread.sleep(TimeUnit.SECONDS.toMillis(warm));
                warmLoad.stop();
                Sample start = idle(gw, 0, problems, "after the warm-up");
                System.out.println("reliability: soak: idle after a " + warm + " s warm-up (" + warmLoad.streams.get()
                        + " streams " + new java.util.TreeMap<>(warmLoad.outcomes) + "): " + start);

                double success0 = gw.metric(SUCCESS);
                double failure0 = gw.metric(FAILURE);
                double decisionsOk0 = answered(gw);
                double decisionsFailed0 = failed(gw);
                long failureLines0 = gw.logLines("Decision service '" + SERVICE + "' failed:");
                long logFrom = gw.logLines("");
                List<Sample> loaded = new ArrayList<>();
                int valid = 0;
                int broken = 0;
                int version = 0;
                int faults = 0;
                Load load = new Load(p, relay.port(), decide.port());
                long t0 = System.nanoTime();
                long nextPhase = 0;
                long nextReload = reloadSeconds;
                long nextSample = sampleSeconds;
                int phase = 0;
                try {
                    for (long now = 0; now < seconds; now = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)) {
                        if (now >= nextPhase) {
                            Mode m = phase % 2 == 0 ? Mode.OK : FAULTS.get((phase / 2) % FAULTS.size());
                            svc.mode(m);
                            faults += m == Mode.OK ? 0 : 1;
                            phase++;
                            nextPhase = now + phaseSeconds;
                        }
                        if (now >= nextReload) {
                            boolean good = (valid + broken) % 2 == 1;
                            double before = gw.metric(SUCCESS) + gw.metric(FAILURE);
                            String text = good ? rules(version + 1) : broken(broken);
                            Path tmp = rules.resolveSibling(".soak-rules.tmp");
                            Files.writeString(tmp, text);
                            Files.move(tmp, rules, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                            if (good) {
                                version++;
                                valid++;
                                int want = version;
                                if (!Await.until(() -> gw.get("/admin/rules", token).contains("\"soak-v" + want + "\""), 10, 50)) {
                                    problems.add("v" + want + " not in force 10 s after its write");
                                }
                            } else {
                                broken++;
                                if (!Await.until(() -> gw.metric(SUCCESS) + gw.metric(FAILURE) > before, 10, 50)) {
                                    problems.add("broken rules #" + broken + " not seen within 10 s");
                                }
                            }
                            nextReload = now + reloadSeconds;
                        }
                        if (now >= nextSample) {
                            Sample s = sample(gw, now);
                            loaded.add(s);
                            System.out.println("reliability: soak: " + now + " s, " + load.streams.get()
                                    + " streams: " + s);
                            nextSample = now + sampleSeconds;
                        }
                        Thread.sleep(200);
                    }
                } finally {
                    load.stop();
                    svc.mode(Mode.OK);
                }
                long soakSeconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
                Sample end = idle(gw, soakSeconds, problems, "after the soak");
                System.out.println("reliability: soak: idle after " + soakSeconds + " s of soak: " + end);

                // Flat: what is left idle after the soak is what was left idle before it.
                if (end.files() > start.files() + 4) {
                    problems.add("open files " + start.files() + " -> " + end.files());
                }
                if (end.threads() > start.threads() + 4) {
                    problems.add("threads " + start.threads() + " -> " + end.threads());
                }
                if (end.heapMiB() > start.heapMiB() * 6 / 5 + 8) {
                    problems.add("live heap " + start.heapMiB() + " -> " + end.heapMiB() + " MiB");
                }
                if (end.directMiB() > start.directMiB() + 32) {
                    problems.add("direct memory " + start.directMiB() + " -> " + end.directMiB() + " MiB");
                }
                if (end.rssKiB() > start.rssKiB() * 13 / 10 + 64 * 1024) {
                    problems.add("RSS " + start.rssKiB() / 1024 + " -> " + end.rssKiB() / 1024 + " MiB");
                }
                // Loaded samples: the last third may not climb above the middle third.
                long middle = peakRss(loaded, loaded.size() / 3, 2 * loaded.size() / 3);
                long last = peakRss(loaded, 2 * loaded.size() / 3, loaded.size());
                if (middle > 0 && last > middle * 23 / 20 + 32 * 1024) {
                    problems.add("RSS still climbing under load: peak " + middle / 1024 + " MiB in the middle third, "
                            + last / 1024 + " MiB in the last");
                }
                long successes = Math.round(gw.metric(SUCCESS) - success0);
                long failures = Math.round(gw.metric(FAILURE) - failure0);
                if (successes != valid || failures != broken) {
                    problems.add("reloads counted " + successes + " success / " + failures + " failure, expected "
                            + valid + " / " + broken);
                }
                long decisionsOk = Math.round(answered(gw) - decisionsOk0);
                long decisionsFailed = Math.round(failed(gw) - decisionsFailed0);
                if (decisionsOk == 0 || (faults > 0 && decisionsFailed == 0)) {
                    problems.add("decisions " + decisionsOk + " answered, " + decisionsFailed
                            + " failed: the faults did not reach the gateway");
                }
                long failureLines = gw.logLines("Decision service '" + SERVICE + "' failed:") - failureLines0;
                long failureLinesAllowed = 1 + soakSeconds / 10;
                if (failureLines > failureLinesAllowed) {
                    problems.add(failureLines + " failure log lines in " + soakSeconds + " s (one per 10 s at most)");
                }
                // Anything else logged in the soak is a line per connection or a fault of the gateway's own.
                List<String> other = soakLog(gw.log(), logFrom).stream().filter(x -> !x.contains(" io.portcullis.audit ")
                        && !x.contains("': circuit breaker State transition") && !x.contains("' failed: ")
                        && !x.contains("Policy reload") && !x.startsWith(" ")).toList();
                if (!other.isEmpty()) {
                    problems.add(other.size() + " other log lines, e.g. " + other.get(0));
                }
                long leaks = gw.logLines("LEAK:");
                if (leaks != 0) {
                    problems.add(leaks + " LEAK reports in " + gw.log());
                }
                long bad = warmLoad.notIntact() + load.notIntact();
                if (bad > 0) {
                    problems.add(bad + " streams not intact");
                }
                long verifiedExpected = load.streams.get() + warmLoad.streams.get();
                if (!Await.until(() -> backend.verified.get() + backend.mismatched.get() >= verifiedExpected, 30)) {
                    problems.add("backend checked " + (backend.verified.get() + backend.mismatched.get()) + " of "
                            + verifiedExpected + " streams");
                }
                if (backend.mismatched.get() > 0) {
                    problems.add(backend.mismatched.get() + " streams altered on the way to the backend");
                }
                String outcome = load.streams.get() + " streams " + new java.util.TreeMap<>(load.outcomes)
                        + " (" + load.bytes.get() / MIB + " MiB), backend verified " + backend.verified.get()
                        + " (mismatched " + backend.mismatched.get() + "); idle before: " + start + "; idle after: "
                        + end + "; loaded RSS peak " + middle / 1024 + " MiB (middle third) / " + last / 1024
                        + " MiB (last third); reloads " + successes + " success / " + failures + " failure (expected "
                        + valid + " / " + broken + "); decisions " + decisionsOk + " answered, " + decisionsFailed
                        + " failed; failure log " + failureLines + " lines; LEAK reports " + leaks
                        + (problems.isEmpty() ? "" : "; " + String.join("; ", problems.subList(0, Math.min(10, problems.size()))));
                long peak = Math.max(gw.statusKiB("VmHWM"), 0);
                return new Result(name(), soakSeconds + " s (after a " + warm + " s warm-up): " + p.soakClients()
                        + " relayed and " + Math.max(1, p.soakClients() / 2) + " pended clients in a loop, 1 B-"
                        + p.soakMaxPayload() / 1024 + " KiB streams, from " + p.sources() + " sources",
                        faults + " decision-service faults of " + phaseSeconds + " s (" + svc.faulted.get()
                                + " requests answered badly), " + (valid + broken) + " reloads (" + broken
                                + " broken)",
                        problems.isEmpty(), outcome, warmLoad.lost.get() + load.lost.get(), peak,
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    /** The gateway idle: the pending gauge back to 0 and the sockets closed, then a full GC, then the sample. */
    private static Sample idle(Gateway gw, long second, List<String> problems, String when) throws Exception {
        if (!Await.until(() -> gw.metric(PENDING) == 0, 15)) {
            problems.add("pending " + gw.metric(PENDING) + " " + when);
        }
        Thread.sleep(2000); // closes in flight land
        if (!gw.gc()) {
            problems.add("jcmd GC.run failed " + when);
        }
        return sample(gw, second);
    }

    private static Sample sample(Gateway gw, long second) {
        return new Sample(second, gw.statusKiB("VmRSS"), gw.openFiles(), gw.statusKiB("Threads"), gw.metric(PENDING),
                (long) (gw.sum("jvm_memory_used_bytes", "area=\"heap\"") / MIB),
                (long) (gw.sum("netty_allocator_memory_used", "") / MIB));
    }

    /** Answers the service gave, or the cache gave for it. */
    private static double answered(Gateway gw) {
        return gw.sum(DECISIONS, "outcome=\"accept\"") + gw.sum(DECISIONS, "outcome=\"cached\"");
    }

    /** Calls that failed, or were not made because the circuit was open. */
    private static double failed(Gateway gw) {
        return gw.sum(DECISIONS, "outcome=\"failure\"") + gw.sum(DECISIONS, "outcome=\"circuit_open\"");
    }

    private static long peakRss(List<Sample> samples, int from, int to) {
        long peak = 0;
        for (int i = from; i < to; i++) {
            peak = Math.max(peak, samples.get(i).rssKiB());
        }
        return peak;
    }

    /** Version n: a rule never met that names the version, then every connection pended on the service. */
    private static String rules(int n) {
        return "listeners:\n  " + DECIDE + ":\n    rules:\n"
                + "      - name: soak-v" + n + "\n        source: [127.0.0.254/32]\n        action: reject\n"
                + "      - name: ask\n        action: pend\n        decision: " + SERVICE + "\n        timeout: 3000ms\n"
                + "    default: reject\n";
    }

    /** Refused rules: a YAML error, then an unknown key. */
    private static String broken(int k) {
        String head = "listeners:\n  " + DECIDE + ":\n    rules:\n      - name: broken-" + k + "\n";
        return k % 2 == 0
                ? head + "        source: [127.0.0.254/32\n        action: reject\n"
                : head + "        sourc: [127.0.0.254/32]\n        action: reject\n";
    }

    /** The log's lines from line {@code from} on. */
    private static List<String> soakLog(Path log, long from) {
        try (java.util.stream.Stream<String> all = Files.lines(log)) {
            return all.skip(from).toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of("cannot read " + log + ": " + e);
        }
    }

    /**
     * Clients in a loop until stopped: {@code soakClients} on the relay (echo and server-first streams in turn),
     * half as many on the pended listener (echo streams); each stream checked byte by byte and by the backend.
     */
    private static final class Load {

        final AtomicLong streams = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong lost = new AtomicLong();
        final Map<String, AtomicLong> outcomes = new ConcurrentHashMap<>();
        private final List<Thread> threads = new ArrayList<>();
        private volatile boolean stopped;
        private static final AtomicLong SEEDS = new AtomicLong(1);

        Load(Profile p, int relayPort, int decidePort) {
            int pended = Math.max(1, p.soakClients() / 2);
            for (int i = 0; i < p.soakClients() + pended; i++) {
                boolean relay = i < p.soakClients();
                int worker = i;
                Thread t = new Thread(null, () -> loop(p, worker, relay ? relayPort : decidePort, relay,
                        relay ? RELAY : DECIDE), "soak-" + i, 256 * 1024);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        private void loop(Profile p, int worker, int port, boolean relay, String listener) {
            SplittableRandom rnd = new SplittableRandom(worker * 7919L + 11);
            long max = relay ? p.soakMaxPayload() : Math.min(p.soakMaxPayload(), 64 * 1024);
            while (!stopped) {
                long seed = SEEDS.getAndIncrement() * 1_000_003L;
                char mode = relay && rnd.nextBoolean() ? 'S' : 'E';
                long clientLength = size(rnd, max);
                long serverLength = mode == 'S' ? size(rnd, max) : 0;
                Stream s = new Stream(2 + worker % p.sources(), port, mode, clientLength, serverLength, seed,
                        HUNG_MILLIS);
                Stream.Outcome o = s.run();
                streams.incrementAndGet();
                bytes.addAndGet(clientLength + (mode == 'E' ? clientLength : serverLength));
                lost.addAndGet(s.lost());
                outcomes.computeIfAbsent(listener + " " + o, k -> new AtomicLong()).incrementAndGet();
            }
        }

        long notIntact() {
            long n = 0;
            for (Map.Entry<String, AtomicLong> e : outcomes.entrySet()) {
                n += e.getKey().endsWith(" INTACT") ? 0 : e.getValue().get();
            }
            return n;
        }

        /** Log-uniform from 1 byte to {@code max}. */
        private static long size(SplittableRandom rnd, long max) {
            return Math.max(1, (long) Math.exp(rnd.nextDouble() * Math.log(max)));
        }

        /** Stops the loops; each ends its stream first (each stream's reads have a deadline). */
        void stop() throws InterruptedException {
            stopped = true;
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(HUNG_MILLIS / 1000 + 30));
            }
        }
    }
}
