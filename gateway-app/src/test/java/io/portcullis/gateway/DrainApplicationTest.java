package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.portcullis.core.demo.EchoServer;
import io.portcullis.core.EventLoops;
import io.portcullis.core.Listener;
import io.portcullis.core.testing.TestClient;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A stop (what SIGTERM triggers) drains: the listener stops accepting at once, a pended client gets
 * on-timeout, a relay in progress keeps flowing until it ends or the grace is over.
 */
class DrainApplicationTest {

    @TempDir
    Path dir;

    @Test
    void stoppingDrainsRelaysWithinTheGrace() throws Exception {
        try (EventLoops backendLoops = EventLoops.create(1);
             EchoServer backend = new EchoServer(backendLoops, new InetSocketAddress("127.0.0.1", 0)).start()) {
            Path rules = Files.writeString(dir.resolve("rules.yaml"), """
                    listeners:
                      svc:
                        rules:
                          - name: wait
                            source: [127.0.0.3]
                            action: pend
                        default: accept
                    """);
            ConfigurableApplicationContext context = new SpringApplicationBuilder(PortcullisApplication.class).run(
                    "--server.port=0",
                    "--portcullis.rules=file:" + rules,
                    "--portcullis.shutdown-grace=3s",
                    "--portcullis.listeners[0].name=svc",
                    "--portcullis.listeners[0].bind=127.0.0.1:0",
                    "--portcullis.listeners[0].inspect.timeout=1m",
                    "--portcullis.listeners[0].inspect.on-timeout=accept",
                    "--portcullis.listeners[0].backends[0]=127.0.0.1:" + backend.localAddress().getPort());
            Listener listener = context.getBean(Gateway.class).listener("svc").orElseThrow();
            InetSocketAddress address = listener.localAddress();
            try (TestClient relayed = TestClient.connect(loopback(1), address);
                 TestClient pended = TestClient.connect(loopback(3), address)) {
                relayed.write("one".getBytes());
                assertThat(new String(relayed.readExactly(3))).isEqualTo("one");
                pended.write("held".getBytes());
                await().atMost(Duration.ofSeconds(5)).until(() -> listener.pendingCount() == 1);

                long start = System.nanoTime();
                CompletableFuture<Void> stopping = CompletableFuture.runAsync(context::close);
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
