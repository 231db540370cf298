package io.portcullis.gateway.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.gateway.decision.DecisionServiceSettings.CacheSettings;
import io.portcullis.core.InspectAction;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The answer's ttl wins over the configured one; zero keeps nothing; the last known answer outlives both. */
class VerdictCacheTest {

    private static DecisionKey key(int n) throws Exception {
        return new DecisionKey("db", "ask", InetAddress.getByAddress(new byte[] {(byte) 192, 0, 2, (byte) n}), Optional.empty());
    }

    private static Decision accept(Duration ttl) {
        return new Decision(InspectAction.ACCEPT, Optional.empty(), Optional.ofNullable(ttl));
    }

    @Test
    void theConfiguredTtlAppliesWhenTheAnswerGivesNone() throws Exception {
        VerdictCache cache = new VerdictCache(Optional.of(new CacheSettings(Duration.ofMillis(200), 10)), false);
        cache.remember(key(1), accept(null));
        assertThat(cache.fresh(key(1))).isPresent();
        assertThat(cache.fresh(key(2))).isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> cache.fresh(key(1)).isEmpty());
    }

    @Test
    void theAnswersTtlWins() throws Exception {
        VerdictCache cache = new VerdictCache(Optional.of(new CacheSettings(Duration.ofHours(1), 10)), false);
        cache.remember(key(1), accept(Duration.ofMillis(150)));
        cache.remember(key(2), accept(Duration.ZERO));
        assertThat(cache.fresh(key(1))).isPresent();
        assertThat(cache.fresh(key(2))).as("ttl 0s: not kept").isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> cache.fresh(key(1)).isEmpty());

        VerdictCache onlyWhenTold = new VerdictCache(Optional.of(new CacheSettings(Duration.ZERO, 10)), false);
        onlyWhenTold.remember(key(1), accept(null));
        onlyWhenTold.remember(key(2), accept(Duration.ofMinutes(1)));
        assertThat(onlyWhenTold.fresh(key(1))).isEmpty();
        assertThat(onlyWhenTold.fresh(key(2))).isPresent();
    }

    @Test
    void withoutACacheNothingIsFreshButTheLastKnownAnswerIsKeptForStale() throws Exception {
        VerdictCache cache = new VerdictCache(Optional.empty(), true);
        Decision reject = new Decision(InspectAction.REJECT, Optional.of("no"), Optional.of(Duration.ofSeconds(30)));
        cache.remember(key(1), accept(null));
        cache.remember(key(1), reject);
        assertThat(cache.fresh(key(1))).isEmpty();
        assertThat(cache.lastKnown(key(1))).contains(reject);
        assertThat(cache.lastKnown(key(2))).isEmpty();
        assertThat(new VerdictCache(Optional.empty(), false).lastKnown(key(1))).isEmpty();
    }

    @Test
    void entriesAreBounded() throws Exception {
        VerdictCache cache = new VerdictCache(Optional.of(new CacheSettings(Duration.ofHours(1), 10)), true);
        for (int i = 1; i <= 200; i++) {
            cache.remember(key(i), accept(null));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            cache.fresh(key(1));
            return cache.freshSize() <= 10;
        });
    }
}
