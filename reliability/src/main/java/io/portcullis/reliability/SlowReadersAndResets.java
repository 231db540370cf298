package io.portcullis.reliability;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Scenario 1, its other half: slow readers on either side and a backend that resets mid-stream. Clients that
 * read nothing for a while as the backend sends them a large stream, and a backend that reads nothing for a while
 * as clients send: every byte still arrives intact, and meanwhile the gateway holds a bounded amount (its
 * allocator's direct memory and its heap, sampled during the stall, against the bytes waiting). A backend that
 * reads half of a stream, sends some bytes and resets: each client must see a reset, never a clean end of a
 * truncated stream.
 */
final class SlowReadersAndResets implements Scenario {

    private static final String DIRECT = "netty_allocator_memory_used";
    /** What the gateway may hold for all the stalled streams together: far below what waits. */
    private static final long HOLD_BOUND = 96L << 20;

    @Override
    public String name() {
        return "1 slow readers, backend resets";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        int n = p.slowStreams();
        long length = p.slowLength();
        long stall = p.name().equals("long") ? 10_000 : 3_000;
        long started = System.nanoTime();
        List<String> problems = new ArrayList<>();
        try (VerifyingBackend backend = new VerifyingBackend(Env.port(), 3 * n + 100)) {
            Gateway.Listener l = new Gateway.Listener("slow", Env.port(), List.of(backend.port()), "5m");
            try (Gateway gw = Gateway.start(env, "slow-readers", List.of(l))) {
                double directIdle = gw.sum(DIRECT, "memory_type=\"direct\"");
                // Slow clients: the backend sends (mode S) while the clients read nothing for a while.
                List<Stream> clients = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    clients.add(new Stream(2 + i % p.sources(), l.port(), 'S', 1, length, 1000 + i, 120_000)
                            .pauseReading(stall));
                }
                long[] peak = stalled(gw, clients, stall);
                check(problems, "slow clients", clients, n);
                String clientSide = held(problems, "slow clients", peak, directIdle, (long) n * length);
                // A slow backend: it reads nothing for a while (mode P) as the clients send.
                List<Stream> senders = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    senders.add(new Stream(2 + i % p.sources(), l.port(), 'P', length, stall, 2000 + i, 120_000));
                }
                long verifiedBefore = backend.verified.get();
                peak = stalled(gw, senders, stall);
                check(problems, "slow backend", senders, n);
                Await.until(() -> backend.verified.get() - verifiedBefore >= n, 30);
                if (backend.verified.get() - verifiedBefore != n) {
                    problems.add("slow backend: verified " + (backend.verified.get() - verifiedBefore) + "/" + n);
                }
                String backendSide = held(problems, "slow backend", peak, directIdle, (long) n * length);
                // A backend that resets mid-stream.
                List<Stream> cut = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    cut.add(new Stream(2 + i % p.sources(), l.port(), 'R', 1 << 20, 256 << 10, 3000 + i, 60_000));
                }
                long resetsBefore = backend.resets.get();
                runAll(cut, 120);
                Map<Stream.Outcome, Integer> cutOutcomes = outcomes(cut);
                long backendResets = backend.resets.get() - resetsBefore;
                if (cutOutcomes.getOrDefault(Stream.Outcome.RESET, 0) != n) {
                    problems.add("backend resets: clients saw " + cutOutcomes + ", expected " + n + " RESET");
                }
                if (backendResets != n) {
                    problems.add("the backend reset " + backendResets + " of " + n);
                }
                long lost = 0;
                for (Stream s : clients) {
                    lost += s.lost();
                }
                for (Stream s : senders) {
                    lost += s.lost();
                }
                String outcome = n + " slow clients " + outcomes(clients) + " (" + clientSide + "), " + n
                        + " streams to a slow backend " + outcomes(senders) + " (" + backendSide + "), " + n
                        + " streams cut by a backend reset: clients " + cutOutcomes
                        + (problems.isEmpty() ? "" : "; " + String.join("; ", problems));
                return new Result(name(), 3 * n + " conns, " + (length >> 20) + " MiB each way for the slow ones",
                        "readers stalled " + stall / 1000 + " s on either side, " + n + " backend resets",
                        problems.isEmpty(), outcome, lost, gw.statusKiB("VmHWM"),
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    /**
     * Runs the streams and samples the gateway while their readers stall: peak direct memory of the allocator,
     * peak heap used, in bytes.
     */
    private static long[] stalled(Gateway gw, List<Stream> streams, long stallMillis) throws Exception {
        List<Thread> threads = start(streams);
        long peakDirect = 0;
        long peakHeap = 0;
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(stallMillis);
        while (System.nanoTime() < until) {
            peakDirect = Math.max(peakDirect, (long) gw.sum(DIRECT, "memory_type=\"direct\""));
            peakHeap = Math.max(peakHeap, (long) gw.sum("jvm_memory_used_bytes", "area=\"heap\""));
            Thread.sleep(200);
        }
        join(threads, 180);
        return new long[] {peakDirect, peakHeap};
    }

    private static String held(List<String> problems, String what, long[] peak, double directIdle, long waiting) {
        long direct = Math.max(0, peak[0] - (long) directIdle);
        if (direct > HOLD_BOUND) {
            problems.add(what + ": the gateway held " + (direct >> 20) + " MiB of direct memory for " + (waiting >> 20)
                    + " MiB waiting (bound " + (HOLD_BOUND >> 20) + " MiB)");
        }
        return "gateway direct memory at most +" + (direct >> 20) + " MiB, heap at most " + (peak[1] >> 20)
                + " MiB, for " + (waiting >> 20) + " MiB waiting";
    }

    private static void check(List<String> problems, String what, List<Stream> streams, int n) {
        Map<Stream.Outcome, Integer> o = outcomes(streams);
        if (o.getOrDefault(Stream.Outcome.INTACT, 0) != n) {
            problems.add(what + ": " + o + ", expected " + n + " INTACT");
        }
    }

    private static Map<Stream.Outcome, Integer> outcomes(List<Stream> streams) {
        Map<Stream.Outcome, Integer> outcomes = new EnumMap<>(Stream.Outcome.class);
        for (Stream s : streams) {
            outcomes.merge(s.outcome == null ? Stream.Outcome.TIMEOUT : s.outcome, 1, Integer::sum);
        }
        return outcomes;
    }

    private static void runAll(List<Stream> streams, int seconds) throws InterruptedException {
        join(start(streams), seconds);
    }

    private static List<Thread> start(List<Stream> streams) {
        List<Thread> threads = new ArrayList<>();
        for (Stream s : streams) {
            Thread t = new Thread(null, s::run, "client", 256 * 1024);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        return threads;
    }

    private static void join(List<Thread> threads, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
    }

}
