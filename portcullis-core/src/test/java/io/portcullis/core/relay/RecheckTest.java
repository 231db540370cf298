package io.portcullis.core.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.testing.TestClient;
import io.portcullis.core.testing.TestTransports;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Live relays judged again: those rejected now are reset on both sides (or only reported), the rest keep relaying,
 * over more relays than one batch per event loop.
 */
class RecheckTest {

    private static final TestTransports TRANSPORTS = new TestTransports(2);
    private static final Duration DEADLINE = RelayUnderTest.DEADLINE;
    private static final InetAddress DENIED = TestClient.loopback(2);
    private static final InetAddress KEPT = TestClient.loopback(3);
    private static final byte[] PING = "ping".getBytes(StandardCharsets.US_ASCII);

    private final RecordingRelayObserver observer = new RecordingRelayObserver();
    private final RelayUnderTest relay = new RelayUnderTest(observer);

    static Stream<String> transports() {
        return TestTransports.labels();
    }

    @AfterEach
    void tearDown() throws Exception {
        relay.close();
    }

    @AfterAll
    static void shutdown() {
        TRANSPORTS.close();
    }

    private static void echoes(TestClient client) throws Exception {
        client.write(PING);
        assertThat(client.readExactly(PING.length, DEADLINE)).isEqualTo(PING);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void rejectedRelaysAreResetTheRestGoOn(String transport) throws Exception {
        relay.on(TRANSPORTS.loops(transport)).echo().rules(r -> InspectAction.ACCEPT).start();
        int each = RelayAcceptHandler.RECHECK_BATCH + 60;    // more than one batch on each of the two loops
        List<TestClient> denied = new ArrayList<>();
        List<TestClient> kept = new ArrayList<>();
        for (int i = 0; i < each; i++) {
            denied.add(relay.track(TestClient.connect(DENIED, relay.listenerAddress())));
            kept.add(relay.track(TestClient.connect(KEPT, relay.listenerAddress())));
        }
        for (TestClient c : denied) {
            echoes(c);
        }
        for (TestClient c : kept) {
            echoes(c);
        }
        ConcurrentHashMap<String, AtomicInteger> told = new ConcurrentHashMap<>();
        RelayAcceptHandler.RecheckObserver recording = (request, rule, reset) ->
                told.computeIfAbsent(rule + (reset ? ":reset" : ":log"), k -> new AtomicInteger()).incrementAndGet();
        java.util.function.Function<InspectRequest, String> judge =
                request -> request.source().getAddress().equals(DENIED) ? "deny-listed" : null;

        RelayAcceptHandler.Recheck logged = relay.handler().recheck(judge, false, recording).get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(logged).isEqualTo(new RelayAcceptHandler.Recheck(2 * each, each));
        assertThat(told).containsOnlyKeys("deny-listed:log");
        assertThat(told.get("deny-listed:log")).hasValue(each);
        echoes(denied.get(0));
        echoes(denied.get(each - 1));

        RelayAcceptHandler.Recheck reset = relay.handler().recheck(judge, true, recording).get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(reset).isEqualTo(new RelayAcceptHandler.Recheck(2 * each, each));
        assertThat(told.get("deny-listed:reset")).hasValue(each);
        for (TestClient c : denied) {
            c.expectReset(DEADLINE);
        }
        for (TestClient c : kept) {
            echoes(c);
        }
        // Those reset are gone: a second recheck sees the rest only.
        assertThat(relay.handler().recheck(judge, true, recording).get(DEADLINE.toSeconds(), TimeUnit.SECONDS))
                .isEqualTo(new RelayAcceptHandler.Recheck(each, 0));
    }

    /** A judge that throws leaves the connection alone; no relay, nothing to do. */
    @ParameterizedTest
    @MethodSource("transports")
    void aFailingJudgeLeavesTheRelayAlone(String transport) throws Exception {
        relay.on(TRANSPORTS.loops(transport)).echo().rules(r -> InspectAction.ACCEPT).start();
        assertThat(relay.handler().recheck(r -> "x", true, (r, rule, reset) -> { }).get(DEADLINE.toSeconds(), TimeUnit.SECONDS))
                .isEqualTo(RelayAcceptHandler.Recheck.NONE);
        TestClient client = relay.track(TestClient.connect(DENIED, relay.listenerAddress()));
        echoes(client);
        RelayAcceptHandler.Recheck result = relay.handler().recheck(r -> {
            throw new IllegalStateException("judge broken");
        }, true, (r, rule, reset) -> { }).get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(result).isEqualTo(new RelayAcceptHandler.Recheck(1, 0));
        echoes(client);
    }
}
