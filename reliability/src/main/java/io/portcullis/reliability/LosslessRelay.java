package io.portcullis.reliability;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Scenario 1: many concurrent connections from many source addresses, payloads from 1 byte to the profile's
 * maximum (log-uniform), random write sizes, half-close from either side first (echo: the client's FIN first;
 * server-first: the backend sends and half-closes while the client is still sending). Checked at both ends:
 * the backend against the SHA-256 the client announced, the client byte by byte. Passes with 0 bytes lost.
 */
final class LosslessRelay implements Scenario {

    @Override
    public String name() {
        return "1 lossless relay";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        long started = System.nanoTime();
        try (VerifyingBackend backend = new VerifyingBackend(Env.port(), p.connections() + 100)) {
            Gateway.Listener l = new Gateway.Listener("relay", Env.port(), List.of(backend.port()), "5m");
            try (Gateway gw = Gateway.start(env, "lossless", List.of(l))) {
                SplittableRandom rnd = new SplittableRandom(20261205);
                List<Stream> streams = new ArrayList<>();
                List<Thread> threads = new ArrayList<>();
                long total = 0;
                for (int i = 0; i < p.connections(); i++) {
                    char mode = i % 2 == 0 ? 'E' : 'S';
                    long clientLength = size(rnd, p.maxPayload());
                    long serverLength = mode == 'S' ? size(rnd, p.maxPayload()) : 0;
                    Stream s = new Stream(2 + i % p.sources(), l.port(), mode, clientLength, serverLength, i, 120_000);
                    streams.add(s);
                    total += clientLength + (mode == 'E' ? clientLength : serverLength);
                    Thread t = new Thread(null, s::run, "client-" + i, 256 * 1024);
                    t.setDaemon(true);
                    threads.add(t);
                }
                threads.forEach(Thread::start);
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(p.name().equals("long") ? 30 : 5);
                for (Thread t : threads) {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                }
                Map<Stream.Outcome, Integer> outcomes = new EnumMap<>(Stream.Outcome.class);
                long lost = 0;
                for (Stream s : streams) {
                    Stream.Outcome o = s.outcome == null ? Stream.Outcome.TIMEOUT : s.outcome;
                    outcomes.merge(o, 1, Integer::sum);
                    lost += o == Stream.Outcome.INTACT ? 0 : s.lost();
                }
                // The backend checks after the client's last byte, which may come after the client's read ended.
                long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (backend.verified.get() + backend.mismatched.get() < p.connections()
                        && System.nanoTime() < settle) {
                    Thread.sleep(50);
                }
                long serverBad = p.connections() - backend.verified.get();
                boolean ok = outcomes.getOrDefault(Stream.Outcome.INTACT, 0) == p.connections() && serverBad == 0;
                String outcome = "client " + outcomes + ", backend verified " + backend.verified.get() + "/"
                        + p.connections() + " (mismatched " + backend.mismatched.get() + "), gateway open files after " + gw.openFiles();
                return new Result(name(), p.connections() + " conns from " + p.sources() + " sources, 1 B-"
                        + (p.maxPayload() >> 20) + " MiB, " + (total >> 20) + " MiB moved", "none", ok, outcome,
                        lost, gw.statusKiB("VmHWM"), TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    /** Log-uniform from 1 byte to {@code max}. */
    private static long size(SplittableRandom rnd, long max) {
        return Math.max(1, (long) Math.exp(rnd.nextDouble() * Math.log(max)));
    }
}
