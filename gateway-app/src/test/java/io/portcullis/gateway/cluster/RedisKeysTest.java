package io.portcullis.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.limit.RateLimit;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The Redis key layout: readable where it can be, one key per state whatever the text, bounded in length. */
class RedisKeysTest {

    private static final RateLimit TEN_PER_SECOND = new RateLimit(LimitKey.SOURCE_IP, 10, Duration.ofSeconds(1), 20);
    private static final ConcurrencyLimit FIVE = new ConcurrencyLimit(LimitKey.SOURCE_IP, 5);

    private static String rate(String listener, String rule, String key) {
        return RedisKeys.rate(listener, rule, RedisKeys.shape(TEN_PER_SECOND), key);
    }

    private static int bytes(String key) {
        return key.getBytes(StandardCharsets.UTF_8).length;
    }

    @Test
    void theLayoutNamesListenerRuleShapeAndKey() {
        assertThat(rate("web", "per-client", "192.0.2.7"))
                .isEqualTo("portcullis:rate:web:per-client:10/PT1S,b20,source-ip:192.0.2.7");
        assertThat(RedisKeys.shape(new RateLimit(LimitKey.parse("source-cidr/24/56").orElseThrow(), 600,
                Duration.ofMinutes(1), 50))).isEqualTo("600/PT1M,b50,source-cidr/24/56");
        assertThat(RedisKeys.concurrency("web", "cap", FIVE, "2001:db8:1:2::/64"))
                .as("an IPv6 key stays readable at the end")
                .isEqualTo("portcullis:conc:web:cap:source-ip:2001:db8:1:2::/64");
        assertThat(RedisKeys.concurrency("web", "cap", new ConcurrencyLimit(LimitKey.LISTENER, 5), "listener"))
                .isEqualTo("portcullis:conc:web:cap:listener:listener");
    }

    @Test
    void aChangedRateOrBurstOrLimiterKeyIsAnotherBucket() {
        Set<String> keys = new HashSet<>();
        for (RateLimit settings : List.of(TEN_PER_SECOND,
                new RateLimit(LimitKey.SOURCE_IP, 11, Duration.ofSeconds(1), 20),
                new RateLimit(LimitKey.SOURCE_IP, 10, Duration.ofMinutes(1), 20),
                new RateLimit(LimitKey.SOURCE_IP, 10, Duration.ofSeconds(1), 21),
                new RateLimit(LimitKey.parse("source-cidr/24").orElseThrow(), 10, Duration.ofSeconds(1), 20))) {
            keys.add(RedisKeys.rate("web", "r", RedisKeys.shape(settings), "10.0.0.0"));
        }
        assertThat(keys).hasSize(5);
    }

    @Test
    void colonsBeforeTheKeyAndAwkwardCharactersAreEscapedSoNoTwoStatesShareAKey() {
        assertThat(rate("a:b", "c", "k")).isNotEqualTo(rate("a", "b:c", "k"));
        assertThat(rate("a:b", "c", "k")).isEqualTo("portcullis:rate:a%3Ab:c:10/PT1S,b20,source-ip:k");
        assertThat(rate("l", "r", "a b\t%~{x}\u007F\u0001"))
                .endsWith(":a%20b%09%25%7E%7Bx%7D%7F%01");
        assertThat(rate("l", "r", "ünï💥:x")).as("unicode kept as is").endsWith(":ünï💥:x");
        assertThat(rate("l", "r", "a\uD800b")).as("a lone surrogate").endsWith(":a%uD800b");
        assertThat(rate("l", "r", "a\uD800b")).isNotEqualTo(rate("l", "r", "a?b"))
                .isNotEqualTo(rate("l", "r", "a\uDC00b"));
        assertThat(rate("l", "r", "%25")).isNotEqualTo(rate("l", "r", "%"));
        // no escaped text contains a raw space, so the fixture's inline commands can name every key
        assertThat(rate("l l", "r r", "k k")).doesNotContain(" ");
    }

    @Test
    void aLongPartIsHashedAndTheKeyBounded() {
        String longKey = "x".repeat(100_000);
        String hashed = rate("web", "r", longKey);
        assertThat(hashed).startsWith("portcullis:rate:web:r:10/PT1S,b20,source-ip:~");
        assertThat(hashed.substring(hashed.lastIndexOf(':') + 1)).hasSize(44);
        assertThat(rate("web", "r", longKey + "y")).isNotEqualTo(hashed);
        assertThat(rate("web", "r", "~" + hashed.substring(hashed.lastIndexOf('~') + 1)))
                .as("a key that spells a hash is escaped, so it is not the hashed one").isNotEqualTo(hashed);

        String wide = "💥".repeat(10_000);
        for (String key : List.of(rate(wide, wide, wide), RedisKeys.concurrency(wide, wide, FIVE, wide),
                rate("%".repeat(1000), ":".repeat(1000), ":".repeat(1000)))) {
            assertThat(bytes(key)).isLessThanOrEqualTo(RedisKeys.MAX_KEY_BYTES);
        }
    }

    @Test
    void aPartAtTheBoundStaysTextAndOneByteMoreIsHashed() {
        String atBound = "k".repeat(RedisKeys.MAX_PART_BYTES);
        assertThat(rate("l", "r", atBound)).endsWith(":" + atBound);
        assertThat(rate("l", "r", atBound + "k")).contains(":~").doesNotContain(atBound);
        String escapedAtBound = "%".repeat(RedisKeys.MAX_PART_BYTES / 3);
        assertThat(rate("l", "r", escapedAtBound)).endsWith(":" + "%25".repeat(RedisKeys.MAX_PART_BYTES / 3));
        assertThat(rate("l", "r", escapedAtBound + "%")).contains(":~");
    }
}
