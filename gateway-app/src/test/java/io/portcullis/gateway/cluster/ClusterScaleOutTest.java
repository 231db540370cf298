package io.portcullis.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.EventLoops;
import io.portcullis.core.demo.EchoServer;
import io.portcullis.gateway.testing.GatewayProcess;
import io.portcullis.gateway.testing.GatewayProcesses;
import io.portcullis.gateway.testing.RedisServer;
import io.portcullis.gateway.testing.Scrape;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitKey;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Issue 17's "done when", end to end: three gateway replicas as processes of their own ({@link GatewayProcesses})
 * against one real {@code redis-server}, every replica with the same listeners and rules, all relaying to one echo
 * server. The replicas start once (their start is most of the time) and are shared by the sections of one test, in
 * an order that leaves each section the replicas it needs:
 *
 * <ol>
 *   <li>one {@code scope: cluster} rate limit holds within 5% across the three under a load spread over them, and
 *       every replica's verdict counters agree with what the clients saw;</li>
 *   <li>an operator completes, through replica C, a connection pended on replica A;</li>
 *   <li>the concurrency leases of a replica killed with SIGKILL expire within the lease TTL, so the others admit
 *       again;</li>
 *   <li>Redis killed mid-run: each {@code on-store-failure} (local, accept, reject) does what it says, is counted,
 *       and no connection hangs; Redis restarted: the cluster limit is shared again, with no gateway restarted.</li>
 * </ol>
 *
 * The rate section drives about 150-240 connections a second from six paced client threads, round robin over the
 * replicas, for 6 s; expected admissions are {@code burst + rate x elapsed} (first to last attempt). A warm-up through a
 * listener of its own first brings each replica's token-bucket path up, so that a cold JVM's first call (hundreds of
 * ms) does not delay the measured bucket's start. A connection counts as accepted when its line comes back, as refused
 * on a reset or an end before that (a reset may come before the client's connect() returns: the gateway decides on
 * the source alone). The measured figures are printed (lines starting {@code ClusterScaleOutTest:}), for the README.
 */
@ExtendWith(GatewayProcesses.LogsOnFailure.class)
class ClusterScaleOutTest {

    private static final String FIGURES = "ClusterScaleOutTest: ";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static final Duration STORE_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration LEASE_TTL = Duration.ofSeconds(2);
    /** How long after the kill the leases of a killed replica may still count: its TTL plus renewal slack. */
    private static final Duration LEASE_EXPIRY_BOUND = LEASE_TTL.plusMillis(1500);
    /** How long an attempt may take while Redis is down: the store's timeout and a margin. */
    private static final Duration NO_HANG_BOUND = STORE_TIMEOUT.plusMillis(1500);

    private static final int RATE = 50;
    private static final int BURST = 50;
    private static final Duration LOAD_WINDOW = Duration.ofSeconds(6);
    private static final int CLIENT_THREADS = 6;
    /** Each client thread starts one attempt per this many ms: 6 threads at 40/s, about 240/s, 4.8 times the rate. */
    private static final long PACE_MILLIS = 25;

    private static final int CONC_MAX = 4;
    private static final int LOCAL_MAX = 2;

    private static final String RULES = """
            listeners:
              rate:
                rules:
                  - name: cluster-rate
                    rate-limit: { key: listener, rate: %d/s, burst: %d, scope: cluster }
                  - name: allow
                    action: accept
                default: reject
              warm:
                rules:
                  - name: cluster-rate
                    rate-limit: { key: listener, rate: 1000/s, burst: 1000, scope: cluster }
                  - name: allow
                    action: accept
                default: reject
              conc:
                rules:
                  - name: cap
                    concurrency-limit: { key: listener, max: %d, scope: cluster }
                  - name: allow
                    action: accept
                default: reject
              pend:
                rules:
                  - name: operator
                    action: pend
                default: reject
              fb-local:
                rules:
                  - name: cap
                    concurrency-limit: { key: listener, max: %d, scope: cluster, on-store-failure: local }
                  - name: allow
                    action: accept
                default: reject
              fb-accept:
                rules:
                  - name: cap
                    concurrency-limit: { key: listener, max: 1, scope: cluster, on-store-failure: accept }
                  - name: allow
                    action: accept
                default: reject
              fb-reject:
                rules:
                  - name: cap
                    concurrency-limit: { key: listener, max: 100, scope: cluster, on-store-failure: reject }
                  - name: allow
                    action: accept
                default: reject
            """.formatted(RATE, BURST, CONC_MAX, LOCAL_MAX);

    private static final String CONFIG = """
            portcullis:
              cluster:
                redis:
                  timeout: %dms
                  lease-ttl: %dms
            """.formatted(STORE_TIMEOUT.toMillis(), LEASE_TTL.toMillis());

    private static final String STORE_UP = "portcullis_cluster_store_up";
    private static final String VERDICTS = "portcullis_verdicts_total";
    private static final String FALLBACKS = "portcullis_cluster_limit_fallbacks_total";
    private static final String LEASES = "portcullis_cluster_leases";
    private static final String RENEWALS = "portcullis_cluster_lease_renewals_total";

    @Test
    void limitsVerdictsAndOperatorActionsAreSharedAcrossReplicas() throws Exception {
        long testStart = System.nanoTime();
        try (EventLoops loops = EventLoops.create(1);
             EchoServer echo = new EchoServer(loops, new InetSocketAddress("127.0.0.1", 0)).start();
             RedisServer redis = RedisServer.start()) {
            String backend = "127.0.0.1:" + echo.localAddress().getPort();
            try (GatewayProcesses gateways = GatewayProcesses.builder()
                    .replicas(3)
                    .redis(redis.url())
                    .rules(RULES)
                    .listener("rate", backend)
                    .listener("warm", backend)
                    .listener("conc", backend)
                    .listener("pend", backend, "inspect: { timeout: 1m, on-timeout: reject }")
                    .listener("fb-local", backend)
                    .listener("fb-accept", backend)
                    .listener("fb-reject", backend)
                    .config(CONFIG)
                    .start()) {
                System.out.println(FIGURES + "3 replicas ready in " + gateways.startTime().toMillis() + " ms");
                for (GatewayProcess p : gateways) {
                    p.awaitScrape(STORE_UP + " 1", Duration.ofSeconds(10), s -> up(s) == 1);
                }

                rateLimitHoldsAcrossReplicas(gateways);
                operatorCompletesThroughAnotherReplica(gateways.get(0), gateways.get(2));
                leasesOfAKilledReplicaExpire(gateways.get(0), gateways.get(1), redis);
                redisRestartIsSurvived(gateways.get(1), gateways.get(2), redis);

                gateways.assertNoLeaks();
            }
        }
        System.out.println(FIGURES + "whole test " + millisSince(testStart) + " ms");
    }

    // ---- 1. one cluster-wide rate limit

    private static void rateLimitHoldsAcrossReplicas(GatewayProcesses gateways) throws Exception {
        List<GatewayProcess> replicas = gateways.all();
        int n = replicas.size();
        InetSocketAddress[] targets = replicas.stream().map(p -> p.listener("rate")).toArray(InetSocketAddress[]::new);
        // Warm-up through another listener with a cluster rate limit of its own: each replica's first call to the
        // token buckets loads and compiles that path (hundreds of ms in a cold JVM), which would otherwise start the
        // measured bucket's refill late and count against it.
        long warming = System.nanoTime();
        for (int round = 0; round < 20; round++) {
            for (GatewayProcess p : replicas) {
                assertThat(attempt(p.listener("warm"), false).outcome()).as("warm-up through %s", p)
                        .isEqualTo(Outcome.ACCEPTED);
            }
        }
        System.out.printf(Locale.ROOT, "%swarm-up: %d connections through a cluster rate limit in %d ms%n", FIGURES,
                20 * n, millisSince(warming));
        List<Scrape> before = scrapeAll(replicas);

        LongAdder[] accepted = adders(n);
        LongAdder[] refused = adders(n);
        LongAdder connectFailed = new LongAdder();
        LongAdder hung = new LongAdder();
        LongAccumulator first = new LongAccumulator(Math::min, Long.MAX_VALUE);
        LongAccumulator last = new LongAccumulator(Math::max, Long.MIN_VALUE);
        AtomicLong sequence = new AtomicLong();

        long begin = System.nanoTime();
        long end = begin + LOAD_WINDOW.toNanos();
        long pace = TimeUnit.MILLISECONDS.toNanos(PACE_MILLIS);
        ExecutorService clients = Executors.newFixedThreadPool(CLIENT_THREADS);
        List<Future<?>> running = new ArrayList<>();
        try {
            for (int t = 0; t < CLIENT_THREADS; t++) {
                long offset = pace * t / CLIENT_THREADS;
                running.add(clients.submit(() -> {
                    long next = begin + offset;
                    while (next < end) {
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(wait);
                        }
                        int i = (int) (sequence.getAndIncrement() % n);
                        Attempt a = attempt(targets[i], false);
                        first.accumulate(a.startNanos());
                        last.accumulate(a.startNanos());
                        switch (a.outcome()) {
                            case ACCEPTED -> accepted[i].increment();
                            case REFUSED -> refused[i].increment();
                            case CONNECT_FAILED -> connectFailed.increment();
                            case HUNG -> hung.increment();
                        }
                        // a pace, not a catch-up burst after a slow attempt
                        next = Math.max(next + pace, System.nanoTime());
                    }
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get(LOAD_WINDOW.toSeconds() + 30, TimeUnit.SECONDS);
            }
        } finally {
            clients.shutdownNow();
        }

        long acceptedAll = sum(accepted);
        long refusedAll = sum(refused);
        long attempts = acceptedAll + refusedAll + connectFailed.sum() + hung.sum();
        double elapsed = (last.get() - first.get()) / 1e9;
        double expected = BURST + RATE * elapsed;
        double ratio = acceptedAll / expected;
        System.out.printf(Locale.ROOT, "%srate limit %d/s burst %d, scope: cluster, over 3 replicas: %d attempts in"
                        + " %.3f s (%.0f/s, %d client threads), accepted %d (per replica %s), refused %d; expected"
                        + " %.1f (burst + rate x elapsed); accepted/expected %.4f (%+.2f%%)%n", FIGURES, RATE, BURST,
                attempts, elapsed, attempts / elapsed, CLIENT_THREADS, acceptedAll, Arrays.toString(accepted),
                refusedAll, expected, ratio, (ratio - 1) * 100);

        List<Scrape> now = scrapeAll(replicas);
        for (int i = 0; i < n; i++) {
            System.out.printf(Locale.ROOT, "%s%s: clients saw accepted %d refused %d; its verdicts allow %d,"
                            + " cluster-rate %d; fallbacks %d%n", FIGURES, replicas.get(i).replicaId(),
                    accepted[i].sum(), refused[i].sum(),
                    delta(now.get(i), before.get(i), VERDICTS, "listener", "rate", "rule", "allow"),
                    delta(now.get(i), before.get(i), VERDICTS, "listener", "rate", "rule", "cluster-rate"),
                    delta(now.get(i), before.get(i), FALLBACKS, "listener", "rate"));
        }

        assertThat(hung.sum()).as("attempts that got neither an echo nor a reset within 5 s").isZero();
        assertThat(connectFailed.sum()).as("attempts whose TCP connect failed").isZero();
        assertThat(attempts / elapsed).as("attempts per second: well above the rate").isGreaterThan(2.0 * RATE);
        for (int i = 0; i < n; i++) {
            assertThat(accepted[i].sum() + refused[i].sum()).as("attempts through %s", replicas.get(i)).isPositive();
        }
        assertThat(Math.abs(acceptedAll - expected)).as("|accepted - expected| with accepted %d, expected %.1f",
                acceptedAll, expected).isLessThanOrEqualTo(0.05 * expected + 1);

        // Each replica counted what its clients saw: admitted by the rule after the limiter, refused by the limiter;
        // and the store never failed, so no fallback took part.
        List<Scrape> after = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            GatewayProcess p = replicas.get(i);
            Scrape was = before.get(i);
            long want = accepted[i].sum();
            long wantRefused = refused[i].sum();
            Scrape s = p.awaitScrape("verdict counters of listener rate as its clients saw (allow " + want
                    + ", cluster-rate " + wantRefused + ")", Duration.ofSeconds(5),
                    x -> delta(x, was, VERDICTS, "listener", "rate", "rule", "allow") == want
                            && delta(x, was, VERDICTS, "listener", "rate", "rule", "cluster-rate") == wantRefused);
            after.add(s);
            assertThat(delta(s, was, FALLBACKS, "listener", "rate")).as("%s: store fallbacks", p).isZero();
        }
        long countedAccepts = 0;
        long countedRejects = 0;
        for (int i = 0; i < n; i++) {
            countedAccepts += delta(after.get(i), before.get(i), VERDICTS, "listener", "rate", "rule", "allow");
            countedRejects += delta(after.get(i), before.get(i), VERDICTS, "listener", "rate", "rule", "cluster-rate");
        }
        System.out.printf(Locale.ROOT, "%srate limit, replicas' verdict counters summed: allow %d, cluster-rate"
                + " (reject) %d; store fallbacks 0%n", FIGURES, countedAccepts, countedRejects);
        assertThat(countedAccepts).isEqualTo(acceptedAll);
        assertThat(countedRejects).isEqualTo(refusedAll);
    }

    // ---- 2. an operator completes a pended connection of another replica

    private static void operatorCompletesThroughAnotherReplica(GatewayProcess holder, GatewayProcess operatorSide)
            throws Exception {
        byte[] sent = "held-by-a\n".getBytes(StandardCharsets.US_ASCII);
        try (Socket client = connect(holder.listener("pend"))) {
            client.getOutputStream().write(sent);
            client.getOutputStream().flush();
            String source = "127.0.0.1:" + client.getLocalPort();

            long asked = System.nanoTime();
            JsonNode entry = null;
            JsonNode view = null;
            long deadline = asked + TimeUnit.SECONDS.toNanos(10);
            while (entry == null) {
                assertThat(System.nanoTime() - deadline).as("listed by %s within 10 s; last view: %s", operatorSide,
                        view).isNegative();
                HttpResponse<String> r = operatorSide.get("/admin/pending?cluster=true");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                view = JSON.readTree(r.body());
                for (JsonNode e : view.get("pending")) {
                    if (source.equals(e.get("source").asString())) {
                        entry = e;
                    }
                }
                if (entry == null) {
                    Thread.sleep(100);
                }
            }
            long listedAfter = millisSince(asked);
            assertThat(entry.get("replica").asString()).isEqualTo(holder.replicaId());
            assertThat(entry.get("listener").asString()).isEqualTo("pend");
            assertThat(entry.get("rule").asString()).isEqualTo("operator");
            assertThat(entry.get("heldBytes").asInt()).isEqualTo(sent.length);
            assertThat(view.get("replica").asString()).isEqualTo(operatorSide.replicaId());
            assertThat(client.getInputStream().available()).as("nothing relayed before the operator").isZero();

            long posted = System.nanoTime();
            HttpResponse<String> r = operatorSide.post("/admin/pending/" + entry.get("id").asString() + "?replica="
                    + holder.replicaId(), "{\"action\":\"accept\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode answer = JSON.readTree(r.body());
            assertThat(answer.get("replica").asString()).isEqualTo(holder.replicaId());
            assertThat(answer.get("action").asString()).isEqualTo("accept");
            byte[] got = client.getInputStream().readNBytes(sent.length);
            assertThat(new String(got, StandardCharsets.US_ASCII)).as("relayed by %s after the accept", holder)
                    .isEqualTo(new String(sent, StandardCharsets.US_ASCII));
            System.out.printf(Locale.ROOT, "%soperator: a connection pended on %s listed by %s's cluster view after"
                            + " %d ms; accepted through %s, echo after %d ms%n", FIGURES, holder.replicaId(),
                    operatorSide.replicaId(), listedAfter, operatorSide.replicaId(), millisSince(posted));
        }
    }

    // ---- 3. leases of a SIGKILLed replica expire

    private static void leasesOfAKilledReplicaExpire(GatewayProcess killed, GatewayProcess survivor, RedisServer redis)
            throws Exception {
        String key = RedisKeys.concurrency("conc", "cap", new ConcurrencyLimit(LimitKey.LISTENER, CONC_MAX), "conc");
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < CONC_MAX; i++) {
                held.add(mustAccept(killed.listener("conc"), "lease " + i + " through " + killed).socket());
            }
            killed.awaitScrape(LEASES + " " + CONC_MAX, Duration.ofSeconds(5),
                    s -> s.value(LEASES).orElse(-1) == CONC_MAX);
            // Held past a renewal (every lease-ttl / 3), so that what expires is a renewed lease, not a fresh one.
            double renewedBefore = killed.scrape().sum(RENEWALS, "result", "renewed");
            killed.awaitScrape("the " + CONC_MAX + " leases renewed", LEASE_TTL.multipliedBy(2),
                    s -> s.sum(RENEWALS, "result", "renewed") - renewedBefore >= CONC_MAX);
            assertThat(redis.integer("ZCARD " + key)).as("leases in Redis").isEqualTo(CONC_MAX);
            mustRefuse(survivor.listener("conc"), "a 5th connection through " + survivor);

            long killedAt = System.nanoTime();
            killed.kill();
            long deadline = killedAt + LEASE_EXPIRY_BOUND.toNanos();
            int refusedSince = 0;
            Attempt admitted = null;
            while (admitted == null) {
                Attempt a = attempt(survivor.listener("conc"), true);
                assertThat(a.outcome()).as("an attempt through %s after the kill", survivor)
                        .isIn(Outcome.ACCEPTED, Outcome.REFUSED);
                if (a.outcome() == Outcome.ACCEPTED) {
                    admitted = a;
                } else {
                    refusedSince++;
                    assertThat(System.nanoTime() - deadline).as("%s admits again within %s of the kill of %s",
                            survivor, LEASE_EXPIRY_BOUND, killed).isNegative();
                    Thread.sleep(50);
                }
            }
            long expiry = TimeUnit.NANOSECONDS.toMillis(admitted.startNanos() - killedAt);
            try (Socket s = admitted.socket()) {
                assertThat(redis.integer("ZCARD " + key)).as("leases in Redis: the killed replica's expired")
                        .isEqualTo(1);
            }
            System.out.printf(Locale.ROOT, "%sconcurrency max %d, lease-ttl %d ms: %s SIGKILLed holding %d renewed leases;"
                            + " %s admitted again %d ms after the kill (%d attempts refused before; bound %d ms)%n",
                    FIGURES, CONC_MAX, LEASE_TTL.toMillis(), killed.replicaId(), CONC_MAX, survivor.replicaId(),
                    expiry, refusedSince, LEASE_EXPIRY_BOUND.toMillis());
            assertThat(refusedSince).as("refused right after the kill: the leases outlive their replica until they"
                    + " expire").isPositive();
        } finally {
            closeAll(held);
        }
    }

    // ---- 4. Redis killed and restarted

    private static void redisRestartIsSurvived(GatewayProcess b, GatewayProcess c, RedisServer redis) throws Exception {
        List<GatewayProcess> pair = List.of(b, c);
        List<Scrape> before = scrapeAll(pair);
        List<Socket> open = new ArrayList<>();
        long slowest = 0;
        try {
            long killedAt = System.nanoTime();
            redis.kill();
            for (GatewayProcess p : pair) {
                p.awaitScrape(STORE_UP + " 0 after Redis was killed", Duration.ofSeconds(5), s -> up(s) == 0);
            }
            System.out.printf(Locale.ROOT, "%sRedis killed: store down seen by %s and %s within %d ms%n", FIGURES,
                    b.replicaId(), c.replicaId(), millisSince(killedAt));

            List<Attempt> attempts = new ArrayList<>();
            // local: each replica's own count, max 2 there: 2 + 2 admitted (above the cluster's 2), the 3rd refused
            for (GatewayProcess p : pair) {
                for (int i = 0; i < LOCAL_MAX; i++) {
                    attempts.add(mustAccept(p.listener("fb-local"), "fb-local " + i + " through " + p));
                }
                attempts.add(mustRefuse(p.listener("fb-local"), "fb-local past the local bound through " + p));
            }
            // accept: passed whatever the (cluster) max of 1
            for (int i = 0; i < 2; i++) {
                attempts.add(mustAccept(b.listener("fb-accept"), "fb-accept " + i + " through " + b));
            }
            attempts.add(mustAccept(c.listener("fb-accept"), "fb-accept through " + c));
            // reject
            for (GatewayProcess p : pair) {
                attempts.add(mustRefuse(p.listener("fb-reject"), "fb-reject through " + p));
            }
            for (Attempt a : attempts) {
                if (a.socket() != null) {
                    open.add(a.socket());
                }
                slowest = Math.max(slowest, a.nanos());
            }
            assertThat(Duration.ofNanos(slowest)).as("the slowest attempt while Redis was down")
                    .isLessThanOrEqualTo(NO_HANG_BOUND);

            int[][] want = {{LOCAL_MAX + 1, 2, 1}, {LOCAL_MAX + 1, 1, 1}};
            String[] modes = {"local", "accept", "reject"};
            StringBuilder counted = new StringBuilder();
            for (int r = 0; r < pair.size(); r++) {
                GatewayProcess p = pair.get(r);
                Scrape was = before.get(r);
                int[] w = want[r];
                Scrape now = p.awaitScrape("fallbacks counted", Duration.ofSeconds(5), s -> {
                    for (int m = 0; m < modes.length; m++) {
                        if (delta(s, was, FALLBACKS, "listener", "fb-" + modes[m], "rule", "cap", "fallback", modes[m])
                                != w[m]) {
                            return false;
                        }
                    }
                    return true;
                });
                counted.append(p.replicaId()).append(' ');
                for (String m : modes) {
                    counted.append(m).append('=').append(delta(now, was, FALLBACKS, "fallback", m)).append(' ');
                }
            }
            System.out.printf(Locale.ROOT, "%sRedis down: fb-local admitted %d per replica then refused, fb-accept"
                            + " admitted 3 (max 1), fb-reject refused; fallbacks counted: %s; slowest attempt %d ms"
                            + " (bound %d ms)%n", FIGURES, LOCAL_MAX, counted.toString().strip(),
                    TimeUnit.NANOSECONDS.toMillis(slowest), NO_HANG_BOUND.toMillis());
        } finally {
            closeAll(open);
            open.clear();
        }

        long restartedAt = System.nanoTime();
        redis.restart();
        for (GatewayProcess p : pair) {
            p.awaitScrape(STORE_UP + " 1 after Redis came back", Duration.ofSeconds(30), s -> up(s) == 1);
        }
        long storeUp = millisSince(restartedAt);
        // Every connection of a replica reconnects by itself, each on its own back-off: until the one of the leases
        // is back, fb-reject refuses (and counts a fallback). Poll until it admits through both.
        for (GatewayProcess p : pair) {
            long deadline = restartedAt + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                Attempt a = attempt(p.listener("fb-reject"), false);
                assertThat(a.outcome()).as("fb-reject through %s after the restart", p)
                        .isIn(Outcome.ACCEPTED, Outcome.REFUSED);
                assertThat(Duration.ofNanos(a.nanos())).isLessThanOrEqualTo(NO_HANG_BOUND);
                if (a.outcome() == Outcome.ACCEPTED) {
                    break;
                }
                assertThat(System.nanoTime() - deadline).as("fb-reject admits through %s within 30 s of the restart",
                        p).isNegative();
                Thread.sleep(100);
            }
        }
        long leasesBack = millisSince(restartedAt);

        // The cluster's count again: 2 through b fill the cluster-wide max, so c refuses (its own count is 0).
        String key = RedisKeys.concurrency("fb-local", "cap", new ConcurrencyLimit(LimitKey.LISTENER, LOCAL_MAX),
                "fb-local");
        List<Scrape> beforeShared = scrapeAll(pair);
        try {
            for (int i = 0; i < LOCAL_MAX; i++) {
                open.add(mustAccept(b.listener("fb-local"), "fb-local " + i + " through " + b + " after the restart")
                        .socket());
            }
            mustRefuse(c.listener("fb-local"), "fb-local through " + c + " once " + b + " holds the cluster's max");
            assertThat(redis.integer("ZCARD " + key)).as("leases in the restarted Redis").isEqualTo(LOCAL_MAX);
            List<Scrape> afterShared = scrapeAll(pair);
            for (int r = 0; r < pair.size(); r++) {
                assertThat(delta(afterShared.get(r), beforeShared.get(r), FALLBACKS, "listener", "fb-local"))
                        .as("%s: no fallback once Redis is back", pair.get(r)).isZero();
            }
        } finally {
            closeAll(open);
        }
        System.out.printf(Locale.ROOT, "%sRedis restarted: store up again on both after %d ms, limiter store calls"
                        + " answered again after %d ms; fb-local shared again (%d through %s, refused through %s),"
                        + " no gateway restarted%n", FIGURES, storeUp, leasesBack, LOCAL_MAX, b.replicaId(),
                c.replicaId());
    }

    // ---- connections

    enum Outcome { ACCEPTED, REFUSED, CONNECT_FAILED, HUNG }

    /** One connection: its outcome, when it started, how long it took, and its socket when kept open. */
    record Attempt(Outcome outcome, long startNanos, long nanos, Socket socket) {
    }

    private static final byte[] PING = "ping\n".getBytes(StandardCharsets.US_ASCII);

    /**
     * Connects, sends a line and reads it back: ACCEPTED with the echo (relayed), REFUSED on a reset or an end before
     * it, HUNG when neither comes within 5 s. {@code keep}: an accepted connection stays open (its socket returned).
     */
    private static Attempt attempt(InetSocketAddress target, boolean keep) {
        long start = System.nanoTime();
        Socket socket = new Socket();
        Outcome outcome;
        try {
            try {
                socket.connect(target, 2000);
                socket.setSoTimeout(5000);
            } catch (ConnectException | SocketTimeoutException e) {
                System.out.println(FIGURES + "connect to " + target + " failed after "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms: " + e);
                return new Attempt(Outcome.CONNECT_FAILED, start, System.nanoTime() - start, null);
            } catch (IOException e) {
                // A reset that comes before connect() returns: the gateway decides on the source alone, so it may
                // reject (reset) the connection before the client's own connect call has seen it established.
                return new Attempt(Outcome.REFUSED, start, System.nanoTime() - start, null);
            }
            try {
                socket.getOutputStream().write(PING);
                socket.getOutputStream().flush();
                InputStream in = socket.getInputStream();
                byte[] got = in.readNBytes(PING.length);
                outcome = Arrays.equals(got, PING) ? Outcome.ACCEPTED : Outcome.REFUSED;
            } catch (SocketTimeoutException e) {
                outcome = Outcome.HUNG;
            } catch (IOException e) {
                outcome = Outcome.REFUSED;
            }
            long took = System.nanoTime() - start;
            if (keep && outcome == Outcome.ACCEPTED) {
                Socket kept = socket;
                socket = null;
                return new Attempt(outcome, start, took, kept);
            }
            return new Attempt(outcome, start, took, null);
        } finally {
            closeQuietly(socket);
        }
    }

    private static Attempt mustAccept(InetSocketAddress target, String what) {
        Attempt a = attempt(target, true);
        assertThat(a.outcome()).as("%s: relayed", what).isEqualTo(Outcome.ACCEPTED);
        return a;
    }

    private static Attempt mustRefuse(InetSocketAddress target, String what) {
        Attempt a = attempt(target, false);
        assertThat(a.outcome()).as("%s: refused", what).isEqualTo(Outcome.REFUSED);
        return a;
    }

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, 2000);
        socket.setSoTimeout(5000);
        return socket;
    }

    private static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // closing
            }
        }
    }

    private static void closeAll(List<Socket> sockets) {
        sockets.forEach(ClusterScaleOutTest::closeQuietly);
    }

    // ---- scrapes

    private static double up(Scrape s) {
        return s.value(STORE_UP).orElse(Double.NaN);
    }

    private static long delta(Scrape now, Scrape before, String name, String... labels) {
        return Math.round(now.sum(name, labels) - before.sum(name, labels));
    }

    private static List<Scrape> scrapeAll(List<GatewayProcess> replicas) throws IOException, InterruptedException {
        List<Scrape> all = new ArrayList<>();
        for (GatewayProcess p : replicas) {
            all.add(p.scrape());
        }
        return all;
    }

    private static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    private static long sum(LongAdder[] adders) {
        long s = 0;
        for (LongAdder a : adders) {
            s += a.sum();
        }
        return s;
    }

    private static long millisSince(long nanos) {
        return Duration.ofNanos(System.nanoTime() - nanos).toMillis();
    }
}
