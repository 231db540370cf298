package io.portcullis.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.gateway.testing.Peers;
import io.portcullis.gateway.testing.RedisServer;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What the cluster pending list's relay stands on: the store's pub/sub connection against a real redis-server
 * (subscribed in the background, again by Lettuce itself after Redis restarts) and the signatures of its messages.
 */
class PendingPubSubTest {

    private static final Duration WAIT = Duration.ofSeconds(15);

    private static ClusterStore store(String url) {
        return new ClusterStore("r1", url, Duration.ofMillis(500), 1, 100, Duration.ofSeconds(15));
    }

    private static void publish(ClusterStore store, String channel, String message) {
        await().atMost(WAIT).until(() -> store.call(c -> c.publish(channel, message))
                .handle((receivers, error) -> receivers != null && receivers > 0).get());
    }

    @Test
    void messagesReachTheSubscriberAlsoAfterRedisRestarts() throws Exception {
        try (RedisServer redis = RedisServer.start(); ClusterStore store = store(redis.url())) {
            BlockingQueue<String> got = new LinkedBlockingQueue<>();
            store.subscribe("portcullis:test:ch", got::add);
            await().atMost(WAIT).until(store::subscribed);
            publish(store, "portcullis:test:ch", "one");
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo("one");

            redis.restart();
            // Not ensureSubscribed: Lettuce itself subscribes the reconnected connection again.
            await().atMost(WAIT).until(() -> store.connected() && store.subscribed());
            publish(store, "portcullis:test:ch", "two");
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo("two");
            assertThat(got).isEmpty();
        }
    }

    @Test
    void aSubscriptionAskedWhileRedisIsDownIsMadeOnceItComes() throws Exception {
        // Before the store: skipped without redis-server, not cut off while the store connects.
        Peers.require("redis-server");
        int port = Peers.freePort();
        try (ClusterStore store = store("redis://127.0.0.1:" + port)) {
            BlockingQueue<String> got = new LinkedBlockingQueue<>();
            store.subscribe("portcullis:test:a", got::add);
            assertThat(store.subscribed()).isFalse();
            try (RedisServer redis = RedisServer.startOn(port)) {
                await().atMost(WAIT).until(store::subscribed);
                // A second channel on the connection that is up now.
                store.subscribe("portcullis:test:b", got::add);
                await().atMost(WAIT).until(store::subscribed);
                publish(store, "portcullis:test:a", "to a");
                publish(store, "portcullis:test:b", "to b");
                assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo("to a");
                assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo("to b");
            }
        }
    }

    @Test
    void aSignedMessageOpensWithTheSameSecretOnly() {
        SignedMessages ours = new SignedMessages("operator-token-for-tests", SignedMessages.PENDING_RELAY);
        String message = ours.sign("{\"id\":\"7\",\"action\":\"accept\"}");
        assertThat(new SignedMessages("operator-token-for-tests", SignedMessages.PENDING_RELAY).open(message)).contains("{\"id\":\"7\",\"action\":\"accept\"}");

        assertThat(new SignedMessages("another-token-entirely", SignedMessages.PENDING_RELAY).open(message)).as("another secret").isEmpty();
        assertThat(new SignedMessages("operator-token-for-tests", "another purpose").open(message)).as("another purpose")
                .isEmpty();
        assertThat(ours.open(message.replace("accept", "reject"))).as("payload changed").isEmpty();
        String mac = message.substring(0, message.indexOf('.'));
        assertThat(ours.open(mac + "." + "{\"id\":\"8\",\"action\":\"accept\"}")).as("MAC of another payload").isEmpty();
        assertThat(ours.open("{\"id\":\"7\",\"action\":\"accept\"}")).as("unsigned").isEmpty();
        assertThat(ours.open(".{}")).isEmpty();
        assertThat(ours.open("not*base64.{}")).isEmpty();
        assertThat(ours.open(null)).isEmpty();
        assertThat(ours.open(ours.sign("x".repeat(SignedMessages.MAX_CHARS)))).as("too long to look at").isEmpty();
        // The MAC is not the token: a signature never shows it.
        assertThat(message).doesNotContain("operator-token-for-tests");
    }
}
