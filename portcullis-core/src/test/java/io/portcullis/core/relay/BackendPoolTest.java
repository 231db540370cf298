package io.portcullis.core.relay;

import io.portcullis.core.InspectRequest;
import io.portcullis.core.InspectId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Picking and failover order of {@link BackendPool}, and {@link RelaySettings} validation. */
class BackendPoolTest {

    private static final List<InetSocketAddress> THREE = List.of(
            addr("10.0.0.1", 5432), addr("10.0.0.2", 5432), addr("10.0.0.3", 5432));

    @Test
    void roundRobinRotatesAndFailsOverInRingOrder() {
        BackendPool pool = new BackendPool(THREE, Balance.ROUND_ROBIN);
        List<Integer> firsts = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            firsts.add(pool.first(request("192.0.2.1", 1000)));
        }
        assertThat(firsts).containsExactly(0, 1, 2, 0, 1, 2, 0);
        assertThat(order(pool, 1)).containsExactly(1, 2, 0);
        assertThat(order(pool, 2)).containsExactly(2, 0, 1);
    }

    @Test
    void leastConnectionsPicksTheLeastLoadedAndRotatesTies() {
        BackendPool pool = new BackendPool(THREE, Balance.LEAST_CONNECTIONS);
        // All idle: ties rotate like round-robin.
        assertThat(List.of(first(pool), first(pool), first(pool))).containsExactly(0, 1, 2);
        pool.opened(0);
        pool.opened(0);
        pool.opened(1);
        for (int i = 0; i < 5; i++) {
            assertThat(first(pool)).isEqualTo(2);
        }
        pool.opened(2);
        pool.opened(2);
        assertThat(first(pool)).isEqualTo(1);
        pool.closed(0);
        pool.closed(0);
        assertThat(first(pool)).isEqualTo(0);
        assertThat(pool.active(0)).isZero();
        assertThat(pool.active(2)).isEqualTo(2);
    }

    @Test
    void sourceHashKeepsAClientOnItsBackendWhateverItsPort() {
        BackendPool pool = new BackendPool(THREE, Balance.SOURCE_HASH);
        int chosen = pool.first(request("198.51.100.7", 40000));
        for (int port = 1; port < 65536; port += 997) {
            assertThat(pool.first(request("198.51.100.7", port))).isEqualTo(chosen);
        }
        assertThat(pool.first(request("2001:db8::7", 1))).isEqualTo(pool.first(request("2001:db8::7", 2)));
    }

    @Test
    void sourceHashIsFixedByOurCodeSoItSurvivesRestarts() {
        // Pinned values: if these change, every client moves to another backend after an upgrade.
        assertThat(BackendPool.sourceHash(addr("192.0.2.1", 1))).isEqualTo(BackendPool.sourceHash(addr("192.0.2.1", 9)));
        assertThat(BackendPool.sourceHash(addr("192.0.2.1", 1))).isEqualTo(PINNED_V4);
        assertThat(BackendPool.sourceHash(addr("2001:db8::1", 1))).isEqualTo(PINNED_V6);
    }

    private static final int PINNED_V4 = 1291677996;
    private static final int PINNED_V6 = -15746065;

    @Test
    void sourceHashSpreadsNeighbouringAddressesEvenly() {
        BackendPool pool = new BackendPool(List.of(addr("10.0.0.1", 1), addr("10.0.0.2", 1), addr("10.0.0.3", 1),
                addr("10.0.0.4", 1)), Balance.SOURCE_HASH);
        int[] counts = new int[4];
        for (int i = 0; i < 20_000; i++) {
            counts[pool.first(request("10.1." + (i >> 8) + "." + (i & 0xff), 1))]++;
        }
        for (int c : counts) {
            assertThat(c).isBetween(4_500, 5_500);
        }
        Map<Integer, Integer> v6 = new TreeMap<>();
        for (int i = 0; i < 4_000; i++) {
            v6.merge(pool.first(request("2001:db8::" + Integer.toHexString(i), 1)), 1, Integer::sum);
        }
        assertThat(v6.values()).allSatisfy(c -> assertThat(c).isBetween(800, 1_200));
    }

    @Test
    void attemptsEndAfterEveryBackendWasTried() {
        BackendPool pool = new BackendPool(List.of(addr("10.0.0.1", 1)), Balance.ROUND_ROBIN);
        assertThat(pool.attempt(0, 0)).isZero();
        assertThat(pool.attempt(0, 1)).isEqualTo(-1);
    }

    @Test
    void labelsAreTheConfiguredNames() {
        BackendPool pool = new BackendPool(List.of(addr("10.0.0.1", 5432), addr("::1", 80),
                InetSocketAddress.createUnresolved("db.internal", 5432)), Balance.ROUND_ROBIN);
        assertThat(pool.label(0)).isEqualTo("10.0.0.1:5432");
        assertThat(pool.label(1)).isEqualTo("[0:0:0:0:0:0:0:1]:80");
        assertThat(pool.label(2)).isEqualTo("db.internal:5432");
        assertThat(pool.hasUnresolved()).isTrue();
        assertThat(new BackendPool(THREE, Balance.ROUND_ROBIN).hasUnresolved()).isFalse();
    }

    @Test
    void rejectsEmptyRepeatedAndNullBackends() {
        assertThatThrownBy(() -> new BackendPool(List.of(), Balance.ROUND_ROBIN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one backend");
        assertThatThrownBy(() -> new BackendPool(List.of(addr("10.0.0.1", 1), addr("10.0.0.1", 1)), Balance.ROUND_ROBIN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("10.0.0.1:1 is listed twice");
        List<InetSocketAddress> withNull = new ArrayList<>(THREE);
        withNull.add(null);
        assertThatThrownBy(() -> new BackendPool(withNull, Balance.ROUND_ROBIN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("backend 3 is null");
    }

    @Test
    void relaySettingsAreValidated() {
        assertThat(RelaySettings.defaults().connectTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThatThrownBy(() -> new RelaySettings(Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("connect-timeout");
        assertThatThrownBy(() -> new RelaySettings(Duration.ofMinutes(6), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("connect-timeout");
        assertThatThrownBy(() -> new RelaySettings(Duration.ofSeconds(1), Duration.ofMillis(-5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idle-timeout");
    }

    private static int first(BackendPool pool) {
        return pool.first(request("192.0.2.1", 1));
    }

    private static List<Integer> order(BackendPool pool, int first) {
        List<Integer> out = new ArrayList<>();
        for (int a = 0; pool.attempt(first, a) >= 0; a++) {
            out.add(pool.attempt(first, a));
        }
        return out;
    }

    private static InspectRequest request(String ip, int port) {
        return InspectRequest.of(InspectId.next(), "test", addr(ip, port), addr("127.0.0.1", 7000), Instant.now());
    }

    private static InetSocketAddress addr(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
