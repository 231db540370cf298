package io.portcullis.gateway.decision;

import static io.portcullis.gateway.decision.DecisionServer.always;
import static io.portcullis.gateway.decision.DecisionServer.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.gateway.decision.DecisionServer.Answer;
import io.portcullis.gateway.decision.DecisionServer.Hold;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.testing.AuditCapture;
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Pend rules that ask a decision service, on a running gateway: a real HTTP decision service (the JDK's
 * server, both formats) answers, hangs, fails, talks nonsense or is not there, and the inspections end as
 * the contract says; the circuit breaker, retry and bulkhead come from Resilience4j's own keys.
 *
 * <p>Each test connects from its own loopback addresses, which the rules route to one service, and the
 * service's answers are scripted by client address, so tests do not see each other's cache or state.
 */
class DecisionServicesApplicationTest {

    private static final Duration DEADLINE = Duration.ofSeconds(5);

    private static final String RULES = """
            listeners:
              gate:
                rules:
                  - name: via-opa
                    source: [127.0.1.0/24]
                    action: pend
                    decision: opa
                  - name: via-dead
                    source: [127.0.2.0/24]
                    action: pend
                    decision: dead
                  - name: via-fallback
                    source: [127.0.3.0/24]
                    action: pend
                    decision: fallback
                  - name: via-lenient
                    source: [127.0.4.0/24]
                    action: pend
                    decision: lenient
                  - name: via-narrow
                    source: [127.0.5.0/24]
                    action: pend
                    decision: narrow
                  - name: wait-for-operator
                    source: [127.0.6.0/24]
                    action: pend
                    timeout: 300ms
                  - name: short-deadline
                    source: [127.0.7.0/24]
                    action: pend
                    decision: authz
                    timeout: 250ms
                  - name: via-basic
                    source: [127.0.8.0/24]
                    action: pend
                    decision: basic
                  - name: via-keyed
                    source: [127.0.9.0/24]
                    action: pend
                    decision: keyed
                  - name: via-authz
                    action: pend
                    decision: authz
                default: reject
              tight:
                rules:
                  - name: ask-authz
                    action: pend
                    decision: authz
                default: reject
            """;

    private static final String BASIC_PASSWORD_ENCODED = "pw%40SECRET%3A1";
    private static final String BEARER = "tokSECRETbearer-0123456789";
    private static final String API_KEY = "keySECRET-abcdef";

    private static GatewayUnderTest gateway;
    private static DecisionServer service;
    private static DecisionServer revived;
    private static int deadPort;
    private static Listener listener;
    private static Listener tight;
    private static MeterRegistry meters;
    private static DecisionServices decisions;
    private static AuditCapture audit;
    /** Connections made through the helpers, by source address: how many audit lines to wait for. */
    private static final Map<String, AtomicInteger> connectionsFrom = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        service = DecisionServer.start();
        deadPort = TestClient.deadPort().getPort();
        gateway = new GatewayUnderTest()
                .rules(RULES)
                .properties("portcullis.worker-threads=2")
                // The deadline accepts, so a reset proves that on-failure (reject) decided, not the deadline.
                .addListener("gate", "inspect.timeout=4s", "inspect.on-timeout=accept")
                // tight: room for one pended inspection; the next overflows and is reset.
                .addListener("tight", "inspect.timeout=4s", "inspect.max-pending=1", "inspect.on-overflow=reject")
                .properties(
                        // authz: http, on-failure reject; only answers that give a ttl are cached; one retry.
                        "portcullis.decision-services.authz.url=" + service.url("/decide"),
                        // Generous timeouts where a slow first call on a busy machine must not turn into a failure.
                        "portcullis.decision-services.authz.timeout=2s",
                        "portcullis.decision-services.authz.on-failure=reject",
                        "portcullis.decision-services.authz.cache.ttl=0s",
                        "portcullis.decision-services.authz.cache.max-entries=1000",
                        "resilience4j.retry.instances.authz.max-attempts=2",
                        "resilience4j.retry.instances.authz.wait-duration=20ms",
                        // Every other service: no retry.
                        "resilience4j.retry.configs.default.max-attempts=1",
                        "portcullis.decision-services.opa.type=opa",
                        "portcullis.decision-services.opa.url=" + service.url("/opa"),
                        "portcullis.decision-services.opa.timeout=2s",
                        "portcullis.decision-services.lenient.url=" + service.url("/decide"),
                        "portcullis.decision-services.lenient.timeout=200ms",
                        "portcullis.decision-services.lenient.on-failure=accept",
                        "portcullis.decision-services.fallback.url=" + service.url("/decide"),
                        "portcullis.decision-services.fallback.on-failure=stale",
                        "portcullis.decision-services.fallback.timeout=2s",
                        "portcullis.decision-services.narrow.url=" + service.url("/decide"),
                        "portcullis.decision-services.narrow.timeout=3s",
                        "resilience4j.bulkhead.instances.narrow.max-concurrent-calls=1",
                        "resilience4j.bulkhead.instances.narrow.max-wait-duration=0",
                        // Credentials: a user in the url (percent-encoded '@' and ':' in the password), headers.
                        "portcullis.decision-services.basic.url=" + service.url("/decide")
                                .replace("http://", "http://portcullis:" + BASIC_PASSWORD_ENCODED + "@"),
                        "portcullis.decision-services.basic.timeout=2s",
                        "portcullis.decision-services.keyed.url=" + service.url("/decide"),
                        "portcullis.decision-services.keyed.timeout=2s",
                        "portcullis.decision-services.keyed.headers.Authorization=Bearer " + BEARER,
                        "portcullis.decision-services.keyed.headers.X-Api-Key=" + API_KEY,
                        "portcullis.decision-services.dead.url=http://127.0.0.1:" + deadPort + "/decide",
                        "portcullis.decision-services.dead.timeout=500ms",
                        "resilience4j.circuitbreaker.instances.dead.sliding-window-type=COUNT_BASED",
                        "resilience4j.circuitbreaker.instances.dead.sliding-window-size=4",
                        "resilience4j.circuitbreaker.instances.dead.minimum-number-of-calls=2",
                        "resilience4j.circuitbreaker.instances.dead.failure-rate-threshold=50",
                        "resilience4j.circuitbreaker.instances.dead.wait-duration-in-open-state=1s",
                        "resilience4j.circuitbreaker.instances.dead.permitted-number-of-calls-in-half-open-state=1",
                        "resilience4j.circuitbreaker.instances.dead.automatic-transition-from-open-to-half-open-enabled=false")
                .start();
        listener = gateway.listener("gate");
        tight = gateway.listener("tight");
        meters = gateway.meters();
        decisions = gateway.bean(DecisionServices.class);
        // After the start: Spring Boot's logging set-up replaces the appenders of every logger.
        audit = new AuditCapture();
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {gateway, audit, service, revived}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // best effort
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    private static void counted(InetAddress from) {
        connectionsFrom.computeIfAbsent(from.getHostAddress(), k -> new AtomicInteger()).incrementAndGet();
    }

    private static InetAddress ip(int third, int fourth) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, (byte) third, (byte) fourth});
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Connects from {@code from}, writes a few bytes and reads their echo: true when relayed, false on a reset. */
    private static boolean relayed(InetAddress from) throws IOException {
        counted(from);
        try (TestClient client = TestClient.connect(from, listener.localAddress())) {
            byte[] hello = ("hello from " + from.getHostAddress()).getBytes();
            client.write(hello);
            return new String(client.readExactly(hello.length, DEADLINE)).equals(new String(hello));
        } catch (SocketException e) {
            return false;
        }
    }

    private static void assertRelayed(InetAddress from) throws IOException {
        assertThat(relayed(from)).as("connection from %s is relayed", from.getHostAddress()).isTrue();
    }

    private static void assertReset(InetAddress from) throws IOException {
        counted(from);
        TestClient.expectRejected(from, listener.localAddress(), DEADLINE);
    }

    private static double requests(String service, String outcome) {
        return meters.get("portcullis.decision.requests").tags("service", service, "outcome", outcome).counter().count();
    }

    private static double pendedFailures() {
        return pended("failure");
    }

    private static double pended(String outcome) {
        return meters.get("portcullis.pended.outcomes").tags("listener", "gate", "outcome", outcome).counter().count();
    }

    private static double cancelled(String service) {
        return meters.get("portcullis.decision.cancelled").tag("service", service).counter().count();
    }

    /**
     * The audit line of the latest connection from {@code from} that went through {@link #relayed} or
     * {@link #assertReset} (or of any one connection): lines are written by the audit log's own thread, so
     * wait until that connection's line is there, not just an earlier one.
     */
    private static JsonNode auditOf(InetAddress from) {
        String ip = from.getHostAddress();
        int expected = Math.max(1, connectionsFrom.getOrDefault(ip, new AtomicInteger()).get());
        await().atMost(DEADLINE).until(() -> audit.of(ip).size() >= expected);
        return audit.last(ip).orElseThrow();
    }

    // ---- http format -----------------------------------------------------------------------------------

    @Test
    void anAcceptAnswerRelaysTheConnectionAndTheRequestCarriesTheContractFields() throws Exception {
        InetAddress from = ip(0, 10);
        service.on(from.getHostAddress(), ok("{\"action\":\"accept\",\"reason\":\"known client\"}"));
        double before = requests("authz", "accept");

        assertRelayed(from);

        assertThat(service.calls(from.getHostAddress())).isEqualTo(1);
        assertThat(requests("authz", "accept")).isEqualTo(before + 1);
        JsonNode sent = service.requests.stream()
                .filter(r -> r.has("source") && r.get("source").get("ip").asString().equals(from.getHostAddress()))
                .findFirst().orElseThrow();
        assertThat(sent.get("listener").asString()).isEqualTo("gate");
        assertThat(sent.get("rule").asString()).isEqualTo("via-authz");
        assertThat(sent.get("id").asString()).isNotBlank();
        assertThat(sent.get("source").get("port").asInt()).isPositive();
        assertThat(sent.get("destination").get("ip").asString()).isEqualTo("127.0.0.1");
        assertThat(sent.get("destination").get("port").asInt()).isEqualTo(listener.localAddress().getPort());
        assertThat(sent.get("sni").isNull()).isTrue();
        assertThat(sent.get("alpn").isArray()).isTrue();
        assertThat(sent.get("receivedAt").asString()).endsWith("Z");
        JsonNode line = auditOf(from);
        assertThat(line.get("decidedBy").asString()).isEqualTo("service");
        assertThat(line.get("reason").asString()).isEqualTo("known client");
        assertThat(meters.get("portcullis.decision.duration").tag("service", "authz").timer().count()).isPositive();
    }

    @Test
    void aUserInTheUrlIsSentAsBasicAuthenticationToTheAddressWithoutIt() throws Exception {
        InetAddress from = ip(8, 1);
        service.on(from.getHostAddress(), ok("{\"action\":\"accept\"}"));

        assertRelayed(from);

        com.sun.net.httpserver.Headers seen = service.headersByIp.get(from.getHostAddress());
        assertThat(seen.get("Authorization")).containsExactly("Basic " + java.util.Base64.getEncoder()
                .encodeToString("portcullis:pw@SECRET:1".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        // What the settings print (a log line, an error) names neither the password nor the header values.
        String shown = gateway.bean(io.portcullis.gateway.config.PortcullisProperties.class).toString()
                + decisions.toString();
        assertThat(shown).doesNotContain("SECRET");
    }

    @Test
    void configuredHeadersAreSentWithEveryRequest() throws Exception {
        InetAddress from = ip(9, 1);
        service.on(from.getHostAddress(), ok("{\"action\":\"accept\"}"));

        assertRelayed(from);

        com.sun.net.httpserver.Headers seen = service.headersByIp.get(from.getHostAddress());
        assertThat(seen.get("Authorization")).containsExactly("Bearer " + BEARER);
        assertThat(seen.get("X-api-key")).containsExactly(API_KEY);
        assertThat(seen.get("Content-Type")).containsExactly("application/json");
    }

    /** One line per burst is the gateway's (FailureLog); Reactor Netty's warning per failed connection is off. */
    @Test
    void reactorNettysWarningPerFailedCallIsOff() {
        org.slf4j.Logger reactor = org.slf4j.LoggerFactory.getLogger("reactor.netty.http.client.HttpClientConnect");
        assertThat(reactor.isWarnEnabled()).isFalse();
        assertThat(reactor.isErrorEnabled()).isTrue();
    }

    @Test
    void aRejectAnswerResetsTheClient() throws Exception {
        InetAddress from = ip(0, 11);
        service.on(from.getHostAddress(), ok("{\"action\":\"reject\",\"reason\":\"not on the list\"}"));
        double before = requests("authz", "reject");

        assertReset(from);

        assertThat(requests("authz", "reject")).isEqualTo(before + 1);
        assertThat(auditOf(from).get("reason").asString()).isEqualTo("not on the list");
    }

    @Test
    void anErrorStatusIsRetriedWithinTheDeadline() throws Exception {
        InetAddress from = ip(0, 12);
        service.on(from.getHostAddress(), call -> call == 1 ? new Answer(503, "busy") : new Answer(200, "{\"action\":\"accept\"}"));

        assertRelayed(from);

        assertThat(service.calls(from.getHostAddress())).as("first attempt 503, the retry answers").isEqualTo(2);
    }

    @Test
    void garbageJsonIsAFailureAndOnFailureRejects() throws Exception {
        InetAddress from = ip(0, 13);
        service.on(from.getHostAddress(), ok("{\"action\": accept"));
        double failures = requests("authz", "failure");
        double pended = pendedFailures();
        double rejects = pended("reject");

        assertReset(from);

        assertThat(requests("authz", "failure")).isEqualTo(failures + 1);
        // Counted by the loop that applied it, which may still be at it when the client sees the reset.
        await().atMost(DEADLINE).until(() -> pendedFailures() == pended + 1);
        assertThat(pended("reject")).as("one ended pend, one outcome: failure, not also reject").isEqualTo(rejects);
        JsonNode line = auditOf(from);
        assertThat(line.get("decidedBy").asString()).isEqualTo("failure");
        assertThat(line.get("reason").asString()).contains("not JSON");
    }

    @Test
    void anUnknownActionIsAFailure() throws Exception {
        InetAddress from = ip(0, 14);
        service.on(from.getHostAddress(), ok("{\"action\":\"maybe\"}"));
        double failures = requests("authz", "failure");

        assertReset(from);

        assertThat(requests("authz", "failure")).isEqualTo(failures + 1);
        assertThat(auditOf(from).get("reason").asString()).contains("unknown action 'maybe'");
    }

    @Test
    void anAnswerPastTheSizeBoundIsAFailure() throws Exception {
        InetAddress from = ip(0, 15);
        service.on(from.getHostAddress(), ok("{\"action\":\"accept\",\"reason\":\"" + "x".repeat(100_000) + "\"}"));
        double failures = requests("authz", "failure");

        assertReset(from);

        assertThat(requests("authz", "failure")).isEqualTo(failures + 1);
        assertThat(auditOf(from).get("reason").asString()).contains("larger than 65536");
    }

    // ---- timeouts and deadlines ------------------------------------------------------------------------

    @Test
    void aHangingServiceTimesOutAndOnFailureAccepts() throws Exception {
        InetAddress from = ip(4, 1);
        Hold hang = service.hold(from.getHostAddress(), new Answer(200, "{\"action\":\"reject\"}"));
        double failures = requests("lenient", "failure");
        double pended = pendedFailures();
        long start = System.nanoTime();

        assertRelayed(from);

        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(tookMillis).as("the 200 ms timeout decided, not the 4 s deadline").isBetween(150L, 2_000L);
        assertThat(requests("lenient", "failure")).isEqualTo(failures + 1);
        await().atMost(DEADLINE).until(() -> pendedFailures() == pended + 1);
        assertThat(auditOf(from).get("reason").asString()).contains("no answer within 200 ms");
        hang.release();
    }

    @Test
    void retriesStayWithinTheRulesDeadlineAndOnFailureDecidesBeforeIt() throws Exception {
        InetAddress from = ip(7, 1);
        Hold hang = service.hold(from.getHostAddress(), new Answer(200, "{\"action\":\"accept\"}"));
        long start = System.nanoTime();

        // The rule's 250 ms deadline is shorter than one 2 s attempt: on-failure (reject) decides before the
        // listener's on-timeout (accept) would.
        assertReset(from);

        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(2_000L);
        assertThat(auditOf(from).get("reason").asString()).contains("inspection's deadline");
        assertThat(service.calls(from.getHostAddress())).as("no retry past the deadline").isEqualTo(1);
        hang.release();
    }

    @Test
    void aPendWithoutDecisionWaitsForItsDeadline() throws Exception {
        InetAddress from = ip(6, 1);
        int calls = service.totalCalls();

        assertRelayed(from);

        assertThat(service.totalCalls()).as("no service was asked").isEqualTo(calls);
        assertThat(auditOf(from).get("outcome").asString()).isEqualTo("timeout");
    }

    // ---- cancellation ----------------------------------------------------------------------------------

    @Test
    void aClientThatLeavesCancelsItsCallAndTheLateAnswerIsDropped() throws Exception {
        InetAddress from = ip(0, 30);
        Hold late = service.hold(from.getHostAddress(), new Answer(200, "{\"action\":\"accept\"}"));
        double cancelledBefore = cancelled("authz");
        double acceptsBefore = requests("authz", "accept");
        double failuresBefore = requests("authz", "failure");
        double aborts = meters.get("portcullis.pended.outcomes").tags("listener", "gate", "outcome", "abort").counter().count();

        TestClient client = TestClient.connect(from, listener.localAddress());
        client.write("wait".getBytes());
        assertThat(late.awaitSeen(DEADLINE)).as("the service got the request").isTrue();
        // A reset is leaving; a FIN after bytes would only be the end of the client's input.
        client.reset();
        await().atMost(DEADLINE).until(() -> cancelled("authz") == cancelledBefore + 1);
        late.release();

        await().atMost(DEADLINE).until(() -> late.delivered || late.writeFailed);
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2)).until(() -> decisions.inFlight() == 0);
        assertThat(requests("authz", "accept")).as("the late answer is not counted").isEqualTo(acceptsBefore);
        assertThat(requests("authz", "failure")).as("nor is the cancellation a failure").isEqualTo(failuresBefore);
        assertThat(meters.get("portcullis.pended.outcomes").tags("listener", "gate", "outcome", "abort").counter().count())
                .isEqualTo(aborts + 1);
        assertThat(auditOf(from).get("outcome").asString()).isEqualTo("abort");
    }

    /** A pend refused for overflow asks no decision service: the call would decide nothing. */
    @Test
    void aPendRefusedForOverflowAsksNoService() throws Exception {
        InetAddress holder = ip(8, 1);
        InetAddress overflowing = ip(8, 2);
        Hold hold = service.hold(holder.getHostAddress(), new Answer(200, "{\"action\":\"accept\"}"));
        try (TestClient first = TestClient.connect(holder, tight.localAddress())) {
            assertThat(hold.awaitSeen(DEADLINE)).as("the first pend asks the service").isTrue();
            assertThat(tight.pendingCount()).isEqualTo(1);

            TestClient.expectRejected(overflowing, tight.localAddress(), DEADLINE);

            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                    .until(() -> service.calls(overflowing.getHostAddress()) == 0);
            assertThat(meters.get("portcullis.pended.outcomes").tags("listener", "tight", "outcome", "overflow").counter().count())
                    .isEqualTo(1);
            hold.release();
            first.write("x".getBytes());
            assertThat(first.readExactly(1, DEADLINE)).containsExactly('x');
        }
    }

    /**
     * A one-shot client (printf 'q' | nc -N): it sends its request and half-closes while pended. The decision
     * accepts, the request and the FIN reach the backend, and the client reads the answer and the backend's FIN.
     */
    @Test
    void aHalfClosedClientIsDecidedAndServed() throws Exception {
        InetAddress from = ip(0, 40);
        Hold slow = service.hold(from.getHostAddress(), new Answer(200, "{\"action\":\"accept\"}"));
        double aborts = pended("abort");
        try (TestClient client = TestClient.connect(from, listener.localAddress())) {
            client.write("q\n".getBytes());
            client.shutdownOutput();
            assertThat(slow.awaitSeen(DEADLINE)).isTrue();
            await().atMost(DEADLINE).until(() -> listener.pending().stream().anyMatch(p -> p.inputShut()));
            slow.release();
            assertThat(new String(client.readExactly(2, DEADLINE))).isEqualTo("q\n");
            client.expectEof(DEADLINE);
        }
        assertThat(pended("abort")).isEqualTo(aborts);
        assertThat(auditOf(from).get("outcome").asString()).isEqualTo("accept");
    }

    // ---- cache and stale -------------------------------------------------------------------------------

    @Test
    void aCachedAnswerAvoidsTheCall() throws Exception {
        InetAddress cachedFor30s = ip(0, 20);
        InetAddress noTtl = ip(0, 21);
        service.on(cachedFor30s.getHostAddress(), ok("{\"action\":\"accept\",\"reason\":\"ok\",\"ttl\":\"30s\"}"));
        service.on(noTtl.getHostAddress(), ok("{\"action\":\"accept\"}"));
        double cached = requests("authz", "cached");

        assertRelayed(cachedFor30s);
        assertRelayed(cachedFor30s);
        assertRelayed(cachedFor30s);
        assertRelayed(noTtl);
        assertRelayed(noTtl);

        assertThat(service.calls(cachedFor30s.getHostAddress())).as("answer with ttl 30s: one call").isEqualTo(1);
        assertThat(service.calls(noTtl.getHostAddress())).as("config ttl 0: no caching").isEqualTo(2);
        assertThat(requests("authz", "cached")).isEqualTo(cached + 2);
        assertThat(auditOf(cachedFor30s).get("decidedBy").asString()).isEqualTo("cache");
    }

    @Test
    void staleAnswersTheLastKnownVerdictWhileTheServiceFailsAndRejectsWithoutOne() throws Exception {
        InetAddress known = ip(3, 1);
        InetAddress knownRejected = ip(3, 2);
        InetAddress unknown = ip(3, 3);
        service.on(known.getHostAddress(), ok("{\"action\":\"accept\",\"reason\":\"member\"}"));
        service.on(knownRejected.getHostAddress(), ok("{\"action\":\"reject\"}"));
        assertRelayed(known);
        assertReset(knownRejected);

        for (InetAddress a : new InetAddress[] {known, knownRejected, unknown}) {
            service.on(a.getHostAddress(), always(503, "down"));
        }

        assertRelayed(known);
        JsonNode line = auditOf(known);
        assertThat(line.get("decidedBy").asString()).isEqualTo("stale");
        assertThat(line.get("reason").asString()).contains("HTTP status 503").contains("member");
        assertReset(knownRejected);
        assertThat(auditOf(knownRejected).get("decidedBy").asString()).isEqualTo("stale");
        assertReset(unknown);
        assertThat(auditOf(unknown).get("decidedBy").asString()).isEqualTo("failure");
        assertThat(service.calls(known.getHostAddress())).as("no cache: every connection asks").isEqualTo(2);
    }

    // ---- circuit breaker and bulkhead ------------------------------------------------------------------

    @Test
    void aDeadServiceOpensTheCircuitWhichRecoversThroughHalfOpenWhenTheServiceReturns() throws Exception {
        CircuitBreaker breaker = gateway.bean(CircuitBreakerRegistry.class).circuitBreaker("dead");
        double failures = requests("dead", "failure");
        double open = requests("dead", "circuit_open");

        assertReset(ip(2, 1));
        assertReset(ip(2, 2));
        assertThat(requests("dead", "failure")).as("connection refused, twice").isEqualTo(failures + 2);
        await().atMost(DEADLINE).until(() -> breaker.getState() == CircuitBreaker.State.OPEN);
        assertThat(auditOf(ip(2, 1)).get("reason").asString()).contains("cannot connect");

        assertReset(ip(2, 3));
        assertThat(requests("dead", "circuit_open")).isEqualTo(open + 1);
        assertThat(auditOf(ip(2, 3)).get("reason").asString()).contains("circuit breaker open");

        TestClient.freeDeadPort(deadPort);
        revived = DecisionServer.start(deadPort);
        assertReset(ip(2, 4));
        assertThat(revived.totalCalls()).as("open: no call reaches the service").isZero();

        Thread.sleep(1_100); // wait-duration-in-open-state
        assertRelayed(ip(2, 5));
        assertThat(revived.totalCalls()).as("half-open: one trial call").isEqualTo(1);
        await().atMost(DEADLINE).until(() -> breaker.getState() == CircuitBreaker.State.CLOSED);
        assertRelayed(ip(2, 6));
        assertThat(revived.totalCalls()).isEqualTo(2);
    }

    @Test
    void aFullBulkheadIsAFailure() throws Exception {
        InetAddress first = ip(5, 1);
        InetAddress second = ip(5, 2);
        Hold held = service.hold(first.getHostAddress(), new Answer(200, "{\"action\":\"accept\"}"));
        double failures = requests("narrow", "failure");

        try (TestClient client = TestClient.connect(first, listener.localAddress())) {
            byte[] hello = "first".getBytes();
            client.write(hello);
            assertThat(held.awaitSeen(DEADLINE)).isTrue();

            assertReset(second);
            assertThat(requests("narrow", "failure")).isEqualTo(failures + 1);
            assertThat(auditOf(second).get("reason").asString()).contains("bulkhead full");
            assertThat(service.calls(second.getHostAddress())).isZero();

            held.release();
            assertThat(new String(client.readExactly(hello.length, DEADLINE))).isEqualTo("first");
        }
    }

    // ---- OPA -------------------------------------------------------------------------------------------

    @Test
    void opaAnswersInBothShapes() throws Exception {
        service.on("127.0.1.1", ok("{\"result\": true}"));
        service.on("127.0.1.2", ok("{\"result\": false}"));
        service.on("127.0.1.3", ok("{\"result\": {\"allow\": true, \"reason\": \"in group\"}}"));
        service.on("127.0.1.4", ok("{\"result\": {\"allow\": false, \"reason\": \"not in group\"}}"));
        service.on("127.0.1.5", ok("{}"));

        assertRelayed(ip(1, 1));
        assertReset(ip(1, 2));
        assertRelayed(ip(1, 3));
        assertThat(auditOf(ip(1, 3)).get("reason").asString()).isEqualTo("in group");
        assertReset(ip(1, 4));
        assertThat(auditOf(ip(1, 4)).get("reason").asString()).isEqualTo("not in group");
        assertReset(ip(1, 5));
        assertThat(auditOf(ip(1, 5)).get("decidedBy").asString()).isEqualTo("failure");

        JsonNode sent = service.requests.stream().filter(r -> r.has("input")).findFirst().orElseThrow();
        assertThat(sent.get("input").get("rule").asString()).isEqualTo("via-opa");
        assertThat(sent.get("input").get("listener").asString()).isEqualTo("gate");
    }

    // ---- meters ----------------------------------------------------------------------------------------

    @Test
    void decisionAndResilience4jMetersReachPrometheus() throws Exception {
        service.on("127.0.0.40", ok("{\"action\":\"accept\"}"));
        assertRelayed(ip(0, 40));

        assertThat(meters.find("resilience4j.circuitbreaker.state").tag("name", "authz").gauges()).isNotEmpty();
        assertThat(meters.find("resilience4j.retry.calls").tag("name", "authz").meters()).isNotEmpty();
        assertThat(meters.find("resilience4j.bulkhead.available.concurrent.calls").tag("name", "narrow").gauges())
                .isNotEmpty();

        HttpResponse<String> scrape = gateway.get("/actuator/prometheus");
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.body())
                .contains("portcullis_decision_requests_total{outcome=\"accept\",service=\"authz\"}")
                .contains("portcullis_decision_requests_total{outcome=\"circuit_open\",service=\"dead\"}")
                .contains("portcullis_decision_duration_seconds_bucket{service=\"authz\",le=\"0.1\"}")
                .contains("portcullis_decision_cancelled_total{service=\"authz\"}")
                .contains("portcullis_pended_outcomes_total{listener=\"gate\",outcome=\"failure\"}")
                .contains("resilience4j_circuitbreaker_state{")
                .doesNotContain("127.0.0.40");
    }
}
