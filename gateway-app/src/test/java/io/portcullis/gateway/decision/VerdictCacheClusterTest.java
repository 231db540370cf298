package io.portcullis.gateway.decision;

import static io.portcullis.gateway.decision.DecisionServer.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.portcullis.core.AbortReason;
import io.portcullis.core.Completion;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.Permit;
import io.portcullis.core.Verdict;
import io.portcullis.gateway.cluster.ClusterStore;
import io.portcullis.gateway.cluster.SignedMessages;
import io.portcullis.gateway.decision.DecisionServiceSettings.CacheSettings;
import io.portcullis.gateway.testing.RedisServer;
import io.portcullis.gateway.testing.StartFailure;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cache.scope: cluster}: two replicas (two {@link DecisionServices}, each on its own {@link ClusterStore})
 * against one real redis-server and one real HTTP decision service. What one learns the other serves without a
 * call, never past the TTL; a hanging Redis or a garbled entry costs a miss, counted, never a late decision.
 * Each test asks for client addresses of its own, so tests do not see each other's entries.
 */
class VerdictCacheClusterTest {

    private static final Duration STORE_TIMEOUT = Duration.ofMillis(300);
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static RedisServer redis;
    private static DecisionServer service;
    private static EventLoopGroup loops;
    /** The admin token of every replica: it signs the shared answers. */
    private static final String TOKEN = "verdict-signing-token-for-tests";
    private static final SignedMessages SIGNER = new SignedMessages(TOKEN, ClusterVerdicts.PURPOSE);
    private static Replica a;
    private static Replica b;

    /** One replica: its store, its decision services, what they completed and what its cluster look-ups found. */
    private static final class Replica implements Completer, DecisionObserver, AutoCloseable {
        final ClusterStore store;
        final DecisionServices decisions;
        final Map<InspectId, CompletableFuture<Done>> done = new ConcurrentHashMap<>();
        final Map<ClusterCacheResult, AtomicLong> looked = new ConcurrentHashMap<>();

        Replica(String name) {
            store = new ClusterStore(name, redis.url(), STORE_TIMEOUT, 1, 100, Duration.ofSeconds(15));
            DecisionServiceSettings settings = new DecisionServiceSettings("authz", DecisionType.HTTP,
                    URI.create(service.url("/decide")), Duration.ofSeconds(2), OnFailure.REJECT,
                    Optional.of(new CacheSettings(Duration.ofSeconds(30), 1000, CacheScope.CLUSTER)), 8);
            decisions = new DecisionServices(List.of(settings), loops, ResilienceRegistries.defaults(), this,
                    Optional.of(store), Optional.of(TOKEN));
            decisions.completeThrough(this);
            for (ClusterCacheResult r : ClusterCacheResult.values()) {
                looked.put(r, new AtomicLong());
            }
        }

        @Override
        public boolean complete(String listener, InspectId id, InspectAction action, Completion completion) {
            return done.computeIfAbsent(id, k -> new CompletableFuture<>())
                    .complete(new Done(action, completion, System.nanoTime()));
        }

        @Override
        public Set<String> routes(String listener) {
            return Set.of("default", "api");
        }

        @Override
        public Optional<Duration> inspectTimeout(String listener) {
            return Optional.of(Duration.ofSeconds(5));
        }

        @Override
        public void clusterCacheLooked(String service, ClusterCacheResult result) {
            looked.get(result).incrementAndGet();
        }

        long looked(ClusterCacheResult result) {
            return looked.get(result).get();
        }

        /** Asks for a connection from {@code ip} and waits for the decision. */
        Done decide(String ip) throws Exception {
            InspectRequest request = request(ip);
            decisions.ask(request, PEND);
            return done(request.id());
        }

        Done done(InspectId id) throws Exception {
            return done.computeIfAbsent(id, k -> new CompletableFuture<>()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }

        @Override
        public void close() {
            decisions.close();
            store.close();
        }
    }

    private record Done(InspectAction action, Completion completion, long atNanos) {
    }

    private static final Verdict PEND = new Verdict(InspectAction.PEND, "ask", Optional.of("authz"), Optional.empty(),
            Permit.NONE);

    private static InspectRequest request(String ip) throws Exception {
        return InspectRequest.of(InspectId.next(), "gate", new InetSocketAddress(InetAddress.getByName(ip), 40000),
                new InetSocketAddress("127.0.0.1", 5432), Instant.now());
    }

    private static InetAddress address(String ip) {
        try {
            return InetAddress.getByName(ip);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static String redisKey(String ip) {
        return ClusterVerdicts.redisKey("authz", new DecisionKey("gate", "ask", address(ip), Optional.empty()));
    }

    private static void awaitConnected(ClusterStore store) {
        await().atMost(Duration.ofSeconds(15)).until(store::connected);
    }

    @BeforeAll
    static void start() throws Exception {
        redis = RedisServer.start();
        service = DecisionServer.start();
        loops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        a = new Replica("a");
        b = new Replica("b");
        awaitConnected(a.store);
        awaitConnected(b.store);
    }

    @AfterAll
    static void stop() throws Exception {
        try (RedisServer r = redis; DecisionServer s = service) {
            if (a != null) {
                a.close();
            }
            if (b != null) {
                b.close();
            }
        } finally {
            if (loops != null) {
                loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            }
        }
    }

    @Test
    void aVerdictLearnedByOneReplicaIsServedByAnotherWithoutACall() throws Exception {
        String ip = "192.0.2.1";
        service.on(ip, ok("{\"action\":\"accept\",\"reason\":\"known client\",\"route\":\"api\"}"));
        long missesOfA = a.looked(ClusterCacheResult.MISS);
        long hitsOfB = b.looked(ClusterCacheResult.HIT);

        Done learned = a.decide(ip);
        assertThat(learned.action()).isEqualTo(InspectAction.ACCEPT);
        assertThat(learned.completion().decidedBy()).isEqualTo("service");
        assertThat(a.looked(ClusterCacheResult.MISS)).as("A looked in the cluster first").isEqualTo(missesOfA + 1);
        await().atMost(WAIT).until(() -> redis.integer("EXISTS " + redisKey(ip)) == 1);
        long pttl = redis.integer("PTTL " + redisKey(ip));
        assertThat(pttl).as("kept for the cache's ttl, no longer").isBetween(1L, 30_000L);

        Done served = b.decide(ip);
        assertThat(served.action()).isEqualTo(InspectAction.ACCEPT);
        assertThat(served.completion().decidedBy()).isEqualTo("cluster-cache");
        assertThat(served.completion().reason()).contains("known client");
        assertThat(served.completion().route()).contains("api");
        assertThat(service.calls(ip)).as("B did not call the service").isEqualTo(1);
        assertThat(b.looked(ClusterCacheResult.HIT)).isEqualTo(hitsOfB + 1);

        // Now B has it locally: no look-up in Redis for the next one.
        Done local = b.decide(ip);
        assertThat(local.completion().decidedBy()).isEqualTo("cache");
        assertThat(b.looked(ClusterCacheResult.HIT)).isEqualTo(hitsOfB + 1);
        assertThat(service.calls(ip)).isEqualTo(1);
    }

    @Test
    void aClusterEntryIsNotServedPastItsTtl() throws Exception {
        String ip = "192.0.2.2";
        service.on(ip, ok("{\"action\":\"reject\",\"ttl\":\"400ms\"}"));
        assertThat(a.decide(ip).action()).isEqualTo(InspectAction.REJECT);
        await().atMost(WAIT).until(() -> redis.integer("EXISTS " + redisKey(ip)) == 1);
        assertThat(redis.integer("PTTL " + redisKey(ip))).as("the answer's own ttl").isBetween(1L, 400L);

        // Gone from Redis once its ttl is over: B asks the service itself.
        await().atMost(WAIT).until(() -> redis.integer("EXISTS " + redisKey(ip)) == 0);
        long missesBefore = b.looked(ClusterCacheResult.MISS);
        Done asked = b.decide(ip);
        assertThat(asked.completion().decidedBy()).isEqualTo("service");
        assertThat(service.calls(ip)).isEqualTo(2);
        assertThat(b.looked(ClusterCacheResult.MISS)).isEqualTo(missesBefore + 1);
    }

    @Test
    void anAnswerThatSaysDoNotCacheRemovesTheSharedEntry() throws Exception {
        String ip = "192.0.2.3";
        service.on(ip, ok("{\"action\":\"reject\",\"ttl\":\"0s\"}"));
        // An entry B cannot use (garbled), so B asks the service, which says: keep nothing.
        a.store.call(c -> c.psetex(redisKey(ip), 60_000, "{}")).get(5, TimeUnit.SECONDS);
        assertThat(b.decide(ip).completion().decidedBy()).isEqualTo("service");
        await().atMost(WAIT).until(() -> redis.integer("EXISTS " + redisKey(ip)) == 0);
        // Kept nowhere: the next one is asked again, on either replica.
        long missesBefore = a.looked(ClusterCacheResult.MISS);
        assertThat(a.decide(ip).completion().decidedBy()).isEqualTo("service");
        assertThat(a.looked(ClusterCacheResult.MISS)).isEqualTo(missesBefore + 1);
        assertThat(b.decide(ip).completion().decidedBy()).isEqualTo("service");
        assertThat(service.calls(ip)).isEqualTo(3);
    }

    @Test
    void aHangingRedisIsAMissWithinTheStoreTimeoutAndTheServiceDecides() throws Exception {
        String ip = "192.0.2.4";
        service.on(ip, ok("{\"action\":\"accept\"}"));
        long errorsBefore = b.looked(ClusterCacheResult.ERROR);
        redis.pause();
        try {
            long start = System.nanoTime();
            Done decided = b.decide(ip);
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(decided.atNanos() - start);
            assertThat(decided.completion().decidedBy()).isEqualTo("service");
            assertThat(decided.action()).isEqualTo(InspectAction.ACCEPT);
            assertThat(b.looked(ClusterCacheResult.ERROR)).isEqualTo(errorsBefore + 1);
            // The store's timeout, then the call (immediate here): generous slack for a busy machine, far below
            // the 5 s deadline a blocked look-up would run into.
            assertThat(tookMillis).as("decided after %d ms", tookMillis)
                    .isGreaterThanOrEqualTo(STORE_TIMEOUT.toMillis() - 50)
                    .isLessThan(STORE_TIMEOUT.toMillis() + 1500);
        } finally {
            redis.resume();
        }
        assertThat(service.calls(ip)).isEqualTo(1);
        await().atMost(WAIT).until(() -> b.store.call(c -> c.ping()).handle((v, e) -> "PONG".equals(v)).get());
    }

    @Test
    void aClientThatLeavesDuringTheLookUpIsNotAskedFor() throws Exception {
        String ip = "192.0.2.5";
        redis.pause();
        try {
            InspectRequest request = request(ip);
            b.decisions.ask(request, PEND);
            b.decisions.aborted(request.id(), AbortReason.CLIENT_CLOSED);
            Thread.sleep(STORE_TIMEOUT.toMillis() + 300);
            assertThat(b.done).doesNotContainKey(request.id());
            assertThat(service.calls(ip)).as("nobody to ask for").isZero();
            assertThat(b.decisions.inFlight()).isZero();
        } finally {
            redis.resume();
        }
    }

    @Test
    void anEntryThatIsNoValidAnswerForItsKeyIsAMissAndCounted() throws Exception {
        DecisionKey other = new DecisionKey("gate", "ask", InetAddress.getByName("198.51.100.1"), Optional.empty());
        Map<String, String> garbage = new java.util.LinkedHashMap<>();
        // Signed as a replica signs, so that each is refused for what it holds, not for its MAC.
        garbage.put("192.0.2.10", SIGNER.sign("not json at all"));
        garbage.put("192.0.2.11", SIGNER.sign("{\"v\":1,\"listener\":\"gate\",\"rule\":\"ask\",\"source\":\"192.0.2.11\","
                + "\"sni\":null,\"action\":\"pend\"}"));
        // A valid entry, but for another client: copied under this key, it must not answer for it.
        garbage.put("192.0.2.12", SIGNER.sign(ClusterVerdicts.encode(other, new Decision(InspectAction.ACCEPT,
                Optional.empty(), Optional.empty()))));
        garbage.put("192.0.2.13", SIGNER.sign("{\"v\":1,\"listener\":\"gate\",\"rule\":\"ask\",\"source\":\"192.0.2.13\","
                + "\"sni\":null,\"action\":\"accept\",\"route\":\"nowhere\"}"));
        garbage.put("192.0.2.14", SIGNER.sign("{\"v\":2,\"listener\":\"gate\",\"rule\":\"ask\",\"source\":\"192.0.2.14\","
                + "\"sni\":null,\"action\":\"accept\"}"));
        garbage.put("192.0.2.15", "x".repeat(ClusterVerdicts.MAX_VALUE_CHARS + 1));
        // Planted by a client of the Redis without the admin token: a valid accept for its very key, but unsigned,
        // signed with another token, or signed for another purpose (a relayed operator command's key).
        for (String[] planted : new String[][] {{"192.0.2.17", null}, {"192.0.2.18", "another-token-entirely"},
                {"192.0.2.19", TOKEN}}) {
            DecisionKey own = new DecisionKey("gate", "ask", InetAddress.getByName(planted[0]), Optional.empty());
            String json = ClusterVerdicts.encode(own, new Decision(InspectAction.ACCEPT, Optional.empty(), Optional.empty()));
            garbage.put(planted[0], planted[1] == null ? json
                    : planted[1].equals(TOKEN) ? new SignedMessages(TOKEN, "portcullis cluster pending relay v1").sign(json)
                    : new SignedMessages(planted[1], ClusterVerdicts.PURPOSE).sign(json));
        }
        for (Map.Entry<String, String> e : garbage.entrySet()) {
            service.on(e.getKey(), ok("{\"action\":\"reject\",\"reason\":\"asked\"}"));
            String key = redisKey(e.getKey());
            assertThat(a.store.call(c -> c.psetex(key, 60_000, e.getValue())).get(5, TimeUnit.SECONDS)).isEqualTo("OK");
        }
        // And one without a TTL: it could be older than any TTL.
        String noTtl = "192.0.2.16";
        service.on(noTtl, ok("{\"action\":\"reject\",\"reason\":\"asked\"}"));
        DecisionKey noTtlKey = new DecisionKey("gate", "ask", InetAddress.getByName(noTtl), Optional.empty());
        a.store.call(c -> c.set(redisKey(noTtl), SIGNER.sign(ClusterVerdicts.encode(noTtlKey,
                new Decision(InspectAction.ACCEPT, Optional.empty(), Optional.empty()))))).get(5, TimeUnit.SECONDS);

        long invalidBefore = b.looked(ClusterCacheResult.INVALID);
        List<String> ips = new java.util.ArrayList<>(garbage.keySet());
        ips.add(noTtl);
        for (String ip : ips) {
            Done decided = b.decide(ip);
            assertThat(decided.completion().decidedBy()).as(ip).isEqualTo("service");
            assertThat(decided.action()).as(ip).isEqualTo(InspectAction.REJECT);
            assertThat(service.calls(ip)).as(ip).isEqualTo(1);
        }
        assertThat(b.looked(ClusterCacheResult.INVALID)).isEqualTo(invalidBefore + ips.size());
        // The service's answer replaced each bad entry.
        await().atMost(WAIT).until(() -> ips.stream().allMatch(ip -> {
            try {
                return redis.integer("PTTL " + redisKey(ip)) > 0 && !redis.commandOrNull("GET " + redisKey(ip)).equals("$-1");
            } catch (Exception ex) {
                return false;
            }
        }));
    }

    @Test
    void keysAreFixedLengthAndDistinct() throws Exception {
        InetAddress ip = InetAddress.getByName("192.0.2.1");
        String plain = ClusterVerdicts.redisKey("authz", new DecisionKey("gate", "ask", ip, Optional.empty()));
        assertThat(plain).startsWith("portcullis:verdict:authz:").hasSize("portcullis:verdict:authz:".length() + 43);
        assertThat(ClusterVerdicts.redisKey("authz", new DecisionKey("gate", "ask", ip, Optional.of("a".repeat(255)))))
                .hasSize(plain.length()).isNotEqualTo(plain);
        assertThat(ClusterVerdicts.redisKey("authz", new DecisionKey("gat", "eask", ip, Optional.empty())))
                .isNotEqualTo(plain);
        assertThat(ClusterVerdicts.redisKey("authz", new DecisionKey("gate", "ask", ip, Optional.of(""))))
                .isNotEqualTo(plain);
    }

    @Test
    void aClusterCacheWithoutAClusterStopsTheStart(@TempDir Path dir) throws Exception {
        Throwable t = startWithClusterCache(dir);
        assertThat(StartFailure.errors(t)).anySatisfy(line -> assertThat(line)
                .contains("portcullis.decision-services")
                .contains("scope: cluster")
                .contains("portcullis.cluster.redis.url is not set"));
    }

    @Test
    void aClusterCacheWithoutAnAdminTokenStopsTheStart(@TempDir Path dir) throws Exception {
        Throwable t = startWithClusterCache(dir, "--portcullis.cluster.redis.url=" + redis.url());
        assertThat(StartFailure.errors(t)).anySatisfy(line -> assertThat(line)
                .contains("scope: cluster")
                .contains("portcullis.admin.token is not set"));
        assertThatThrownBy(() -> new DecisionServices(List.of(new DecisionServiceSettings("authz", DecisionType.HTTP,
                URI.create("http://127.0.0.1:1/decide"), Duration.ofSeconds(1), OnFailure.REJECT,
                Optional.of(new CacheSettings(Duration.ofSeconds(30), 10, CacheScope.CLUSTER)), 1)), loops,
                ResilienceRegistries.defaults(), DecisionObserver.NONE, Optional.of(a.store), Optional.empty()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs portcullis.admin.token");
    }

    /** How a gateway with a listener pending on 'authz', whose cache has scope: cluster, failed to start. */
    private static Throwable startWithClusterCache(Path dir, String... extra) throws Exception {
        Path rules = Files.writeString(dir.resolve("rules.yaml"), """
                listeners:
                  db:
                    rules:
                      - { name: ask, action: pend, decision: authz }
                    default: reject
                """);
        List<String> args = new java.util.ArrayList<>(List.of("--server.port=0", "--portcullis.rules=file:" + rules,
                "--portcullis.listeners[0].name=db", "--portcullis.listeners[0].bind=127.0.0.1:0",
                "--portcullis.listeners[0].backends[0]=127.0.0.1:9",
                "--portcullis.decision-services.authz.url=http://127.0.0.1:1/decide",
                "--portcullis.decision-services.authz.cache.scope=cluster"));
        args.addAll(List.of(extra));
        return StartFailure.of(args.toArray(String[]::new));
    }
}
