package io.portcullis.gateway.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.EventLoops;
import io.portcullis.core.demo.EchoServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three replicas as real processes against one real Redis: each shares state through it under its own replica id;
 * Redis going away is seen by every replica within seconds and stops no relay of a listener without cluster-scope
 * rules (the relay never waits for Redis); Redis coming back is seen again; a replica that crashes disturbs neither
 * the others nor a relay they hold. One test: the replicas' start is most of its time.
 */
@ExtendWith(GatewayProcesses.LogsOnFailure.class)
class GatewayProcessesTest {

    private static final String STORE_UP = "portcullis_cluster_store_up";

    @Test
    void replicasShareRedisAndRelayWithoutIt() throws Exception {
        try (EventLoops loops = EventLoops.create(1);
             EchoServer echo = new EchoServer(loops, new InetSocketAddress("127.0.0.1", 0)).start();
             RedisServer redis = RedisServer.start();
             GatewayProcesses gateways = GatewayProcesses.builder()
                     .replicas(3)
                     .redis(redis.url())
                     .listener("plain", "127.0.0.1:" + echo.localAddress().getPort(), "conditional-accept: false")
                     .start()) {
            StringBuilder times = new StringBuilder("GatewayProcessesTest: 3 replicas ready in "
                    + gateways.startTime().toMillis() + " ms (");
            gateways.forEach(p -> times.append(p.replicaId()).append(' ').append(p.readyAfter().toMillis())
                    .append(" ms; "));
            System.out.println(times.append(')'));

            Set<String> ids = new HashSet<>();
            for (GatewayProcess p : gateways) {
                p.awaitScrape(STORE_UP + " 1", Duration.ofSeconds(10), s -> up(s) == 1);
                assertThat(p.loggedReplicaId()).as("%s's start line names its replica id", p).contains(p.replicaId());
                ids.add(p.loggedReplicaId().orElseThrow());
                assertThat(p.logLines("shares state through Redis at 127.0.0.1:" + redis.port())).hasSize(1);
                assertRelays(p);
            }
            assertThat(ids).as("replica ids").hasSize(3);

            // A relay through replica-0 that lives through everything below.
            try (Socket held = connect(gateways.get(0).listener("plain"))) {
                assertEchoes(held, "before");

                long down = System.nanoTime();
                redis.kill();
                for (GatewayProcess p : gateways) {
                    p.awaitScrape(STORE_UP + " 0 after Redis was killed", Duration.ofSeconds(5), s -> up(s) == 0);
                    assertRelays(p);
                    assertThat(p.ready()).as("%s ready without Redis", p).isTrue();
                }
                System.out.println("GatewayProcessesTest: Redis down seen by all in " + millisSince(down) + " ms");
                assertEchoes(held, "while Redis is down");

                long back = System.nanoTime();
                redis.restart();
                for (GatewayProcess p : gateways) {
                    p.awaitScrape(STORE_UP + " 1 after Redis came back", Duration.ofSeconds(20), s -> up(s) == 1);
                }
                System.out.println("GatewayProcessesTest: Redis back seen by all in " + millisSince(back) + " ms");

                GatewayProcess crashed = gateways.get(2);
                crashed.kill();
                assertThat(crashed.isAlive()).isFalse();
                assertThat(gateways.running()).hasSize(2);
                for (GatewayProcess p : gateways.running()) {
                    assertThat(p.ready()).as("%s ready after %s was killed", p, crashed).isTrue();
                    assertThat(up(p.scrape())).as("%s %s", p, STORE_UP).isEqualTo(1);
                    assertRelays(p);
                }
                assertEchoes(held, "after a replica crashed");
            }
            gateways.assertNoLeaks();
        }
    }

    private static double up(Scrape s) {
        return s.value(STORE_UP).orElse(Double.NaN);
    }

    private static long millisSince(long nanos) {
        return Duration.ofNanos(System.nanoTime() - nanos).toMillis();
    }

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, 2000);
        socket.setSoTimeout(5000);
        return socket;
    }

    /** A new connection through the replica's listener is relayed to the echo backend and back. */
    private static void assertRelays(GatewayProcess p) throws IOException {
        try (Socket s = connect(p.listener("plain"))) {
            assertEchoes(s, "through " + p.replicaId());
        }
    }

    private static void assertEchoes(Socket socket, String text) throws IOException {
        byte[] sent = (text + "\n").getBytes(StandardCharsets.UTF_8);
        socket.getOutputStream().write(sent);
        socket.getOutputStream().flush();
        InputStream in = socket.getInputStream();
        byte[] got = in.readNBytes(sent.length);
        assertThat(new String(got, StandardCharsets.UTF_8)).as("echo %s", text.strip())
                .isEqualTo(new String(sent, StandardCharsets.UTF_8));
    }
}
