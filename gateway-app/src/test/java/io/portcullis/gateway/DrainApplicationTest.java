package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import io.portcullis.gateway.testing.GatewayUnderTest;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A stop (what SIGTERM triggers) drains: the listener stops accepting at once, a pended client gets
 * on-timeout, a relay in progress keeps flowing until it ends or the grace is over.
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
}
