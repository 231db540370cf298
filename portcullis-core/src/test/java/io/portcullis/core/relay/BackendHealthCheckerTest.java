package io.portcullis.core.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.core.demo.EchoServer;
import io.portcullis.core.EventLoops;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Active health checks on loopback: a backend that stops listening is marked down, skipped, then up again. */
class BackendHealthCheckerTest {

    private static final EventLoops LOOPS = EventLoops.create(2);
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @AfterAll
    static void shutdown() {
        LOOPS.close();
    }

    @Test
    void aBackendThatStopsListeningIsMarkedDownSkippedAndBackUp() throws Exception {
        RecordingRelayObserver observer = new RecordingRelayObserver();
        InetAddress lo = TestClient.loopback(1);
        ServerSocket flaky = new ServerSocket();
        flaky.setReuseAddress(true);
        flaky.bind(new InetSocketAddress(lo, 0), 50);
        int flakyPort = flaky.getLocalPort();
        try (EchoServer steady = new EchoServer(LOOPS, new InetSocketAddress(lo, 0)).start()) {
            BackendPool pool = new BackendPool(List.of(new InetSocketAddress(lo, flakyPort), steady.localAddress()),
                    Balance.ROUND_ROBIN);
            RelayAcceptHandler relay = new RelayAcceptHandler("hc", pool, RelaySettings.defaults(), LOOPS, observer);
            HealthCheckSettings settings = new HealthCheckSettings(true, Duration.ofMillis(100), Duration.ofMillis(80), 2, 2);
            try (BackendHealthChecker checker = new BackendHealthChecker(relay, settings, LOOPS.workers().next()).start();
                 Listener listener = Listener.builder("hc").eventLoops(LOOPS).conditionalAccept(false)
                         .acceptHandler(relay).build().start()) {
                assertThat(observer.health).containsExactly("127.0.0.1:" + flakyPort + " up",
                        "127.0.0.1:" + steady.localAddress().getPort() + " up");
                Thread.sleep(500);
                assertThat(pool.upCount()).as("a listening backend stays up").isEqualTo(2);

                flaky.close();
                await().atMost(DEADLINE).until(() -> !pool.isUp(0));
                assertThat(observer.health).contains("127.0.0.1:" + flakyPort + " down");
                int failuresBefore = observer.failedBackends.size();
                for (int i = 0; i < 6; i++) {
                    try (TestClient client = TestClient.connect(listener.localAddress())) {
                        client.write(new byte[] {(byte) i});
                        assertThat(client.readExactly(1)[0]).isEqualTo((byte) i);
                    }
                }
                assertThat(observer.failedBackends).as("the down backend is not even tried").hasSize(failuresBefore);

                ServerSocket back = new ServerSocket();
                back.setReuseAddress(true);
                back.bind(new InetSocketAddress(lo, flakyPort), 50);
                try (back) {
                    await().atMost(DEADLINE).until(() -> pool.isUp(0));
                    assertThat(observer.health).endsWith("127.0.0.1:" + flakyPort + " up");
                }
            }
        }
    }

    @Test
    void whenNoBackendIsUpAllAreTriedAgain() {
        BackendPool pool = new BackendPool(List.of(new InetSocketAddress("127.0.0.1", 1), new InetSocketAddress("127.0.0.1", 2),
                new InetSocketAddress("127.0.0.1", 3)), Balance.ROUND_ROBIN);
        pool.markUp(1, false);
        assertThat(pool.attempt(0, 0)).isEqualTo(0);
        assertThat(pool.attempt(0, 1)).as("skips the down one").isEqualTo(2);
        assertThat(pool.attempt(0, 2)).isEqualTo(-1);
        assertThat(pool.attempt(1, 0)).as("a down first choice moves on").isEqualTo(2);
        pool.markUp(0, false);
        pool.markUp(2, false);
        assertThat(pool.upCount()).isZero();
        assertThat(pool.attempt(0, 0)).isEqualTo(0);
        assertThat(pool.attempt(0, 1)).isEqualTo(1);
        assertThat(pool.attempt(0, 2)).isEqualTo(2);
        assertThat(pool.markUp(1, true)).isTrue();
        assertThat(pool.markUp(1, true)).as("no change").isFalse();
        assertThat(pool.attempt(2, 0)).isEqualTo(1);
        assertThat(pool.attempt(2, 1)).isEqualTo(-1);
    }

    @Test
    void leastConnectionsIgnoresDownBackends() {
        BackendPool pool = new BackendPool(List.of(new InetSocketAddress("127.0.0.1", 1), new InetSocketAddress("127.0.0.1", 2)),
                Balance.LEAST_CONNECTIONS);
        pool.opened(1);
        pool.opened(1);
        pool.markUp(0, false);
        for (int i = 0; i < 4; i++) {
            assertThat(pool.first(null)).isEqualTo(1);
        }
    }
}
