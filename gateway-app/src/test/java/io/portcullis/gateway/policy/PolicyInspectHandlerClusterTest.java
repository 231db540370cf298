package io.portcullis.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.portcullis.core.Completion;
import io.portcullis.core.EventLoops;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.Listener;
import io.portcullis.core.ListenerSettings;
import io.portcullis.core.PeekSettings;
import io.portcullis.core.PendingInspection;
import io.portcullis.core.Verdict;
import io.portcullis.core.demo.EchoServer;
import io.portcullis.core.relay.Balance;
import io.portcullis.core.relay.HealthCheckSettings;
import io.portcullis.core.relay.RelaySettings;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.Gateway;
import io.portcullis.gateway.GatewaySettings;
import io.portcullis.gateway.cluster.ClusterLimits;
import io.portcullis.gateway.cluster.ClusterStore;
import io.portcullis.gateway.cluster.StoreUnavailableException;
import io.portcullis.gateway.decision.DecisionServices;
import io.portcullis.gateway.decision.DecisionTrigger;
import io.portcullis.gateway.metrics.GatewayMeters;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyOptions;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitSettings;
import io.portcullis.policy.limit.Limiter;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.limit.RateLimit;
import io.portcullis.policy.model.Permit;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code scope: cluster} limiters through a real gateway on loopback, against a fake cluster store the test answers
 * by hand, on a thread of its own (as the real one answers on Lettuce's): a connection waits pended while the store
 * holds its answer, and the answer relays it, resets it, or hands it to a later rule; each {@code on-store-failure};
 * leases come back when the connection ends, also when the client left before the store answered, and a pend refused a
 * slot asks nothing and holds nothing. Netty's leak detector watches every test.
 */
class PolicyInspectHandlerClusterTest {

    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final Duration STORE_TIMEOUT = Duration.ofMillis(200);

    private static final String RULES = """
            listeners:
              db:
                rules:
                  - name: local-cap
                    source: [127.0.1.0/24]
                    concurrency-limit: {max: 1}
                  - name: cluster-cap
                    source: [127.0.1.0/24, 127.0.6.0/24, 127.0.7.0/24, 127.0.8.0/24]
                    concurrency-limit: {max: 5, scope: cluster}
                  - name: fail-local
                    source: [127.0.3.0/24]
                    rate-limit: {rate: 1/m, scope: cluster}
                  - name: fail-accept
                    source: [127.0.4.0/24]
                    concurrency-limit: {max: 1, scope: cluster, on-store-failure: accept}
                  - name: fail-reject
                    source: [127.0.5.0/24]
                    concurrency-limit: {max: 1, scope: cluster, on-store-failure: reject}
                  - name: ask
                    source: [127.0.6.0/24]
                    action: pend
                    decision: authz
                    timeout: 30s
                  - name: operator
                    source: [127.0.7.0/24]
                    action: pend
                  - name: blocked
                    source: [127.0.8.0/24]
                    action: reject
                  - name: all
                    action: accept
                default: reject
              tight:
                rules:
                  - name: local-cap
                    concurrency-limit: {max: 1}
                  - name: cluster-rate
                    rate-limit: {rate: 10/s, scope: cluster}
                default: accept
              plain:
                rules:
                  - name: cap
                    concurrency-limit: {max: 10}
                default: accept
            """;

    private static EventLoops loops;
    private static EchoServer echo;
    private static SimpleMeterRegistry meters;
    private static GatewayMeters gatewayMeters;
    private static PolicyEngine engine;
    private static FakeClusterLimits store;
    private static PolicyInspectHandler handler;
    private static Gateway gateway;
    private static final BlockingQueue<Asked> decisions = new LinkedBlockingQueue<>();

    /** What the handler asked a decision service. */
    private record Asked(InspectRequest request, Verdict verdict) {
    }

    @BeforeAll
    static void start() throws Exception {
        loops = EventLoops.create(2);
        echo = new EchoServer(loops, new InetSocketAddress("127.0.0.1", 0)).start();
        meters = new SimpleMeterRegistry();
        gatewayMeters = new GatewayMeters(meters, 1024);
        engine = new PolicyEngine(Policy.parse(RULES, "rules.yaml",
                PolicyOptions.defaults().withLimiters(new LimiterRegistry())), gatewayMeters);
        store = new FakeClusterLimits();
        DecisionTrigger trigger = (request, verdict) -> decisions.add(new Asked(request, verdict));
        handler = new PolicyInspectHandler(engine, gatewayMeters, trigger, Optional.of(store), STORE_TIMEOUT,
                gatewayMeters);
        GatewaySettings settings = new GatewaySettings(List.of(plan("db", 100), plan("tight", 0), plan("plain", 100)),
                new GatewaySettings.Demo(new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0)));
        gateway = new Gateway(settings, loops, handler, gatewayMeters, DecisionServices.none());
        handler.completeThrough(gateway);
        gateway.start();
    }

    private static GatewaySettings.ListenerPlan plan(String name, int maxPending) {
        ListenerSettings listener = new ListenerSettings(name, new InetSocketAddress("127.0.0.1", 0), true,
                Duration.ofSeconds(5), io.portcullis.core.InspectAction.REJECT, maxPending,
                io.portcullis.core.InspectAction.REJECT, ListenerSettings.DEFAULT_HOLD_BYTES,
                ListenerSettings.DEFAULT_ACCEPT_BACKLOG, PeekSettings.NONE);
        return new GatewaySettings.ListenerPlan(listener, List.of(echo.localAddress()), Balance.ROUND_ROBIN,
                RelaySettings.defaults(), new HealthCheckSettings(false, Duration.ofSeconds(5), Duration.ofSeconds(1), 2, 3),
                Map.of(), false, LiveEnforcement.RecheckMode.OFF);
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (echo != null) {
            echo.close();
        }
        if (loops != null) {
            loops.close();
        }
        if (gatewayMeters != null) {
            gatewayMeters.close();
        }
        if (store != null) {
            store.close();
        }
    }

    @AfterEach
    void everyStoreCallWasAnswered() throws InterruptedException {
        assertThat(store.calls.poll(100, TimeUnit.MILLISECONDS)).as("a store call the test did not expect").isNull();
        assertThat(decisions).as("a decision the test did not expect").isEmpty();
    }

    // ---- waiting, relayed, refused ----------------------------------------------------------------

    @Test
    void aConnectionWaitsPendedWhileTheStoreHoldsItsAnswerThenIsRelayed() throws Exception {
        InetAddress from = ip(1, 1);
        double accepted = verdicts("db", "all", "accept");
        double pendVerdicts = verdicts("db", "cluster-cap", "pend");
        long waited = waitedCount("db");

        try (TestClient client = TestClient.connect(from, listener("db").localAddress())) {
            client.write("hello".getBytes());
            Call call = store.next();
            assertThat(call.listener()).isEqualTo("db");
            assertThat(call.rule()).isEqualTo("cluster-cap");
            assertThat(call.key()).isEqualTo("127.0.1.1");
            assertThat(call.settings()).isInstanceOf(ConcurrencyLimit.class);

            assertThat(pendingFrom("db", from)).as("pended on the limiter rule").hasValueSatisfying(p ->
                    assertThat(p.rule()).isEqualTo("cluster-cap"));
            assertThat(nothingWithin(client, Duration.ofMillis(300))).as("nothing relayed yet").isTrue();

            Lease lease = store.grant(call);
            assertThat(new String(client.readExactly(5, DEADLINE))).isEqualTo("hello");
            assertThat(verdicts("db", "all", "accept")).as("the final verdict is counted").isEqualTo(accepted + 1);
            assertThat(verdicts("db", "cluster-cap", "pend")).as("the intermediate pend is not").isEqualTo(pendVerdicts);
            assertThat(waitedCount("db")).isEqualTo(waited + 1);

            // the local slot is held with the connection: the next one from the address is refused at once, locally
            TestClient.expectRejected(from, listener("db").localAddress(), DEADLINE);
            assertThat(lease.releases).hasValue(0);
            client.close();
            await().atMost(DEADLINE).until(() -> lease.releases.get() == 1);
        }
        await().atMost(DEADLINE).until(() -> limiter("db", "local-cap").trackedKeys() == 0);

        // freed: the next connection gets to the store again
        try (TestClient again = TestClient.connect(from, listener("db").localAddress())) {
            store.refuse(store.next());
            again.expectReset(DEADLINE);
        }
        assertThat(store.leasesOutstanding()).isZero();
    }

    @Test
    void aRefusalResetsTheConnectionCountsItAndGivesTheLocalSlotBack() throws Exception {
        InetAddress from = ip(1, 2);
        double rejected = verdicts("db", "cluster-cap", "reject");
        double pendedRejects = pended("db", "reject");

        try (TestClient client = TestClient.connect(from, listener("db").localAddress())) {
            store.refuse(store.next());
            client.expectReset(DEADLINE);
        }

        assertThat(verdicts("db", "cluster-cap", "reject")).isEqualTo(rejected + 1);
        assertThat(pended("db", "reject")).isEqualTo(pendedRejects + 1);
        await().atMost(DEADLINE).until(() -> limiter("db", "local-cap").trackedKeys() == 0);
    }

    @Test
    void aLeaseIsGivenBackWhenALaterRuleRejects() throws Exception {
        InetAddress from = ip(8, 1);
        double blocked = verdicts("db", "blocked", "reject");
        try (TestClient client = TestClient.connect(from, listener("db").localAddress())) {
            Lease lease = store.grant(store.next());
            client.expectReset(DEADLINE);
            await().atMost(DEADLINE).until(() -> lease.releases.get() == 1);
            await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2)).until(() -> lease.releases.get() == 1);
        }
        assertThat(verdicts("db", "blocked", "reject")).isEqualTo(blocked + 1);
    }

    @Test
    void aConnectionThatMeetsNoClusterLimiterIsDecidedAtOnce() throws Exception {
        assertRelayed("db", ip(9, 1));
        assertRelayed("plain", ip(9, 2));
    }

    // ---- the store failed ---------------------------------------------------------------------

    @Test
    void onStoreFailureLocalCountsInTheLocalBucket() throws Exception {
        InetAddress from = ip(3, 1);
        double failures = pended("db", "failure");

        try (TestClient client = TestClient.connect(from, listener("db").localAddress())) {
            store.fail(store.next());
            echoes(client);
        }
        try (TestClient client = TestClient.connect(from, listener("db").localAddress())) {
            Call second = store.next();
            assertThat(second.settings()).isInstanceOf(RateLimit.class);
            store.fail(second);
            client.expectReset(DEADLINE);
        }

        assertThat(fallbacks("fail-local", "local")).isEqualTo(2);
        assertThat(verdicts("db", "fail-local", "reject")).as("the local bucket's one token was taken").isEqualTo(1);
        assertThat(pended("db", "failure")).as("a fallback decided both").isEqualTo(failures + 2);
    }

    @Test
    void onStoreFailureAcceptRelaysWithoutLocalState() throws Exception {
        for (int i = 1; i <= 2; i++) {
            try (TestClient client = TestClient.connect(ip(4, 1), listener("db").localAddress())) {
                store.fail(store.next());
                echoes(client);
            }
        }
        assertThat(fallbacks("fail-accept", "accept")).isEqualTo(2);
        assertThat(limiter("db", "fail-accept").trackedKeys()).isZero();
    }

    @Test
    void onStoreFailureRejectResets() throws Exception {
        double rejected = verdicts("db", "fail-reject", "reject");
        try (TestClient client = TestClient.connect(ip(5, 1), listener("db").localAddress())) {
            store.fail(store.next());
            client.expectReset(DEADLINE);
        }
        assertThat(fallbacks("fail-reject", "reject")).isEqualTo(1);
        assertThat(verdicts("db", "fail-reject", "reject")).isEqualTo(rejected + 1);
    }

    // ---- leaving, overflowing ------------------------------------------------------------------

    @Test
    void aClientThatLeavesWhileTheStoreIsAskedGetsTheLateLeaseReleased() throws Exception {
        InetAddress from = ip(1, 3);
        double aborts = pended("db", "abort");
        double counted = totalVerdicts("db");

        TestClient client = TestClient.connect(from, listener("db").localAddress());
        client.write("wait".getBytes());
        Call call = store.next();
        client.reset();
        await().atMost(DEADLINE).until(() -> pended("db", "abort") == aborts + 1);
        await().atMost(DEADLINE).until(() -> limiter("db", "local-cap").trackedKeys() == 0);

        Lease late = store.grant(call);
        await().atMost(DEADLINE).until(() -> late.releases.get() == 1);
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2)).until(() -> late.releases.get() == 1);
        assertThat(totalVerdicts("db")).as("no verdict for a connection that is gone").isEqualTo(counted);
        assertThat(store.leasesOutstanding()).isZero();
    }

    @Test
    void aPendRefusedASlotAsksNothingAndHoldsNothing() throws Exception {
        double overflows = pended("tight", "overflow");
        for (int i = 0; i < 2; i++) {
            // the second would be refused by the local cap if the first had kept its slot: it overflows again
            TestClient.expectRejected(ip(10, 1), listener("tight").localAddress(), DEADLINE);
            await().atMost(DEADLINE).until(() -> limiter("tight", "local-cap").trackedKeys() == 0);
        }
        assertThat(pended("tight", "overflow")).isEqualTo(overflows + 2);
        assertThat(verdicts("tight", "local-cap", "reject")).isZero();
    }

    // ---- what comes after the store ------------------------------------------------------------

    @Test
    void aLaterPendRuleAsksItsDecisionServiceWhoseAnswerCompletes() throws Exception {
        InetAddress from = ip(6, 1);
        double pendVerdicts = verdicts("db", "ask", "pend");
        try (TestClient client = TestClient.connect(from, listener("db").localAddress())) {
            Lease lease = store.grant(store.next());
            Asked asked = decisions.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            assertThat(asked).isNotNull();
            assertThat(asked.verdict().rule()).isEqualTo("ask");
            assertThat(asked.verdict().decision()).hasValue("authz");
            assertThat(asked.verdict().timeout()).hasValue(Duration.ofSeconds(30));
            assertThat(verdicts("db", "ask", "pend")).isEqualTo(pendVerdicts + 1);
            assertThat(pendingFrom("db", from)).as("still pended, for the service").isPresent();

            assertThat(gateway.complete("db", asked.request().id(), InspectAction.ACCEPT, Completion.by("service")))
                    .isTrue();
            echoes(client);
            assertThat(lease.releases).hasValue(0);
            client.close();
            await().atMost(DEADLINE).until(() -> lease.releases.get() == 1);
        }
    }

    @Test
    void aLaterPendRuleWithoutADecisionWaitsForTheOperator() throws Exception {
        InetAddress from = ip(7, 1);
        try (TestClient client = TestClient.connect(from, listener("db").localAddress())) {
            Lease lease = store.grant(store.next());
            await().atMost(DEADLINE).until(() -> verdicts("db", "operator", "pend") == 1);
            assertThat(nothingWithin(client, Duration.ofMillis(200))).as("held for the operator").isTrue();
            PendingInspection pending = pendingFrom("db", from).orElseThrow();

            assertThat(listener("db").inspectComplete(pending.request().id(), InspectAction.ACCEPT)).isTrue();
            echoes(client);
            client.close();
            await().atMost(DEADLINE).until(() -> lease.releases.get() == 1);
        }
    }

    @Test
    void thePendsDeadlineLeavesRoomForTheStoreAndTheWaitAfterIt() throws Exception {
        InspectRequest request = InspectRequest.of(InspectId.next(), "db", new InetSocketAddress(ip(6, 9), 40000),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 5432), Instant.now());

        Verdict verdict = handler.verdict(request);
        try {
            assertThat(verdict.action()).isEqualTo(InspectAction.PEND);
            assertThat(verdict.rule()).isEqualTo("cluster-cap");
            assertThat(verdict.decision()).isEmpty();
            // four cluster limiters from here on (whether they match is not known yet), each 200 ms + 100 ms margin,
            // then the ask rule's 30 s (longer than the listener's 5 s)
            assertThat(verdict.timeout()).hasValue(Duration.ofMillis(4 * 300).plusSeconds(30));
        } finally {
            verdict.permit().release(); // never pended: no store call
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    private static InetAddress ip(int third, int fourth) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, (byte) third, (byte) fourth});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Whether no byte (and no end of stream) comes within {@code wait}. */
    private static boolean nothingWithin(TestClient client, Duration wait) throws IOException {
        try {
            return client.readSome(new byte[1], 1, wait) == 0;
        } catch (java.net.SocketTimeoutException expected) {
            return true;
        }
    }

    private static Listener listener(String name) {
        return gateway.listener(name).orElseThrow();
    }

    private static Optional<PendingInspection> pendingFrom(String listener, InetAddress from) {
        return listener(listener).pending().stream()
                .filter(p -> p.request().source().getAddress().equals(from)).findFirst();
    }

    private static Limiter limiter(String listener, String rule) {
        return engine.current().listener(listener).orElseThrow().rules().stream().filter(r -> r.name().equals(rule))
                .findFirst().orElseThrow().limiter().orElseThrow();
    }

    private static void echoes(TestClient client) throws IOException {
        client.write("ping".getBytes());
        assertThat(new String(client.readExactly(4, DEADLINE))).isEqualTo("ping");
    }

    private static void assertRelayed(String listener, InetAddress from) throws IOException {
        try (TestClient client = TestClient.connect(from, listener(listener).localAddress())) {
            echoes(client);
        }
    }

    private static double verdicts(String listener, String rule, String action) {
        Counter counter = meters.find("portcullis.verdicts").tags("listener", listener, "rule", rule, "action", action)
                .counter();
        return counter == null ? 0 : counter.count();
    }

    private static double totalVerdicts(String listener) {
        return meters.find("portcullis.verdicts").tag("listener", listener).counters().stream()
                .mapToDouble(Counter::count).sum();
    }

    private static double pended(String listener, String outcome) {
        return meters.get("portcullis.pended.outcomes").tags("listener", listener, "outcome", outcome).counter().count();
    }

    private static double fallbacks(String rule, String fallback) {
        Counter counter = meters.find("portcullis.cluster.limit.fallbacks")
                .tags("listener", "db", "rule", rule, "fallback", fallback).counter();
        return counter == null ? 0 : counter.count();
    }

    private static long waitedCount(String listener) {
        var timer = meters.find("portcullis.cluster.limit").tag("listener", listener).timer();
        return timer == null ? 0 : timer.count();
    }

    // ---- the fake store -------------------------------------------------------------------------

    /** One store call, answered by the test. */
    private record Call(String listener, String rule, LimitSettings settings, String key,
                        CompletableFuture<Object> answer) {
    }

    /** A lease the fake store gave: counts its releases. */
    private static final class Lease implements Permit {
        final AtomicInteger releases = new AtomicInteger();
        private final AtomicInteger outstanding;

        Lease(AtomicInteger outstanding) {
            this.outstanding = outstanding;
            outstanding.incrementAndGet();
        }

        @Override
        public void release() {
            if (releases.incrementAndGet() == 1) {
                outstanding.decrementAndGet();
            }
        }
    }

    /**
     * A cluster store whose every call waits for the test to answer it; answers complete on a thread of the store's
     * own, never on an event loop.
     */
    private static final class FakeClusterLimits implements ClusterLimits, AutoCloseable {
        final BlockingQueue<Call> calls = new LinkedBlockingQueue<>();
        final AtomicInteger outstanding = new AtomicInteger();
        private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> new Thread(r, "fake-store"));
        private final List<Lease> leases = new ArrayList<>();

        @Override
        @SuppressWarnings("unchecked")
        public CompletableFuture<Boolean> tryConsume(String listener, String rule, RateLimit settings, String key) {
            CompletableFuture<Object> answer = new CompletableFuture<>();
            calls.add(new Call(listener, rule, settings, key, answer));
            return (CompletableFuture<Boolean>) (CompletableFuture<?>) answer;
        }

        @Override
        @SuppressWarnings("unchecked")
        public CompletableFuture<Optional<Permit>> tryAcquire(String listener, String rule, ConcurrencyLimit settings,
                                                             String key) {
            CompletableFuture<Object> answer = new CompletableFuture<>();
            calls.add(new Call(listener, rule, settings, key, answer));
            return (CompletableFuture<Optional<Permit>>) (CompletableFuture<?>) answer;
        }

        Call next() throws InterruptedException {
            Call call = calls.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            assertThat(call).as("a store call").isNotNull();
            return call;
        }

        /** A token (rate limit) or a lease (concurrency limit); the lease, or null for a token. */
        Lease grant(Call call) {
            if (call.settings() instanceof RateLimit) {
                thread.execute(() -> call.answer().complete(Boolean.TRUE));
                return null;
            }
            Lease lease = new Lease(outstanding);
            synchronized (leases) {
                leases.add(lease);
            }
            thread.execute(() -> call.answer().complete(Optional.of(lease)));
            return lease;
        }

        void refuse(Call call) {
            thread.execute(() -> call.answer().complete(call.settings() instanceof RateLimit ? Boolean.FALSE
                    : Optional.empty()));
        }

        void fail(Call call) {
            thread.execute(() -> call.answer().completeExceptionally(
                    new StoreUnavailableException(ClusterStore.Failure.TIMEOUT, "no answer within 200 ms")));
        }

        int leasesOutstanding() {
            return outstanding.get();
        }

        @Override
        public void close() {
            thread.shutdownNow();
        }
    }
}
