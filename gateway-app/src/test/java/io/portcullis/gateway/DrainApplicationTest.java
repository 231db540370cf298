package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.net.ConnectException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A stop (what SIGTERM triggers) drains: the listener stops accepting at once, a pended client gets
 * on-timeout, a relay in progress keeps flowing until it ends or the grace is over, and is reset then.
 */
class DrainApplicationTest {

    @Test
    void stoppingDrainsRelaysWithinTheGrace() throws Exception {
        try (GatewayUnderTest gateway = new GatewayUnderTest()
                .rules("""
                        listeners:
                          svc:
                            rules:
                              - name: wait
                                source: [127.0.0.3]
                                action: pend
                            default: accept
                        """)
                .properties("portcullis.shutdown-grace=3s")
                .addListener("svc", "inspect.timeout=1m", "inspect.on-timeout=accept")
                .start()) {
            Listener listener = gateway.listener("svc");
            InetSocketAddress address = listener.localAddress();
            try (TestClient relayed = TestClient.connect(loopback(1), address);
                 TestClient pended = TestClient.connect(loopback(3), address)) {
                relayed.write("one".getBytes());
                assertThat(new String(relayed.readExactly(3))).isEqualTo("one");
                pended.write("held".getBytes());
                await().atMost(Duration.ofSeconds(5)).until(() -> listener.pendingCount() == 1);

                long start = System.nanoTime();
                CompletableFuture<Void> stopping = CompletableFuture.runAsync(gateway::stop);
                await().atMost(Duration.ofSeconds(5)).until(() -> !listener.isBound());
                assertThatThrownBy(() -> TestClient.connect(loopback(1), address).close())
                        .isInstanceOf(ConnectException.class);
                assertThat(new String(pended.readExactly(4))).as("on-timeout: accept").isEqualTo("held");
                relayed.write("two".getBytes());
                assertThat(new String(relayed.readExactly(3))).as("the relay still flows while draining").isEqualTo("two");
                assertThat(stopping).isNotDone();

                stopping.get(15, TimeUnit.SECONDS);
                long tookMillis = (System.nanoTime() - start) / 1_000_000;
                assertThat(tookMillis).as("the grace bounds the stop").isLessThan(12_000);
                relayed.expectClosed(Duration.ofSeconds(5));
            }
        }
    }

    /** A FIN at the grace's end would pass for the end of the stream: both ends must get a reset. */
    @Test
    void aRelayStillOpenWhenTheGraceEndsIsResetAtBothEnds() throws Exception {
        try (ServerSocket backend = new ServerSocket(0, 5, loopback(1))) {
            AtomicReference<String> backendEnd = new AtomicReference<>();
            Thread serving = new Thread(() -> {
                try (Socket s = backend.accept()) {
                    s.setSoTimeout(20_000);
                    InputStream in = s.getInputStream();
                    s.getOutputStream().write(in.read());
                    backendEnd.set(in.read() < 0 ? "FIN" : "a byte");
                } catch (SocketException e) {
                    backendEnd.set("reset");
                } catch (Exception e) {
                    backendEnd.set(e.toString());
                }
            });
            serving.start();
            try (GatewayUnderTest gateway = new GatewayUnderTest()
                    .backend("127.0.0.1:" + backend.getLocalPort())
                    .properties("portcullis.shutdown-grace=1s")
                    .addListener("svc", "conditional-accept=false", "health-check.enabled=false")
                    .start()) {
                InetSocketAddress address = gateway.listener("svc").localAddress();
                try (TestClient relayed = TestClient.connect(loopback(1), address)) {
                    relayed.write("x".getBytes());
                    assertThat(new String(relayed.readExactly(1))).isEqualTo("x");

                    gateway.stop();
                    relayed.expectReset(Duration.ofSeconds(10));
                    serving.join(10_000);
                    assertThat(backendEnd.get()).as("how the backend's stream ended").isEqualTo("reset");
                }
            }
        }
    }
}
