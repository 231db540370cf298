package io.portcullis.gateway.cluster;

import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.portcullis.policy.model.Permit;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Concurrency leases in Redis, shared by the replicas: a sorted set per limiter and key whose members are the leases
 * ({@code replicaId:seq}) scored by when they expire, in Redis's clock ({@code TIME}), never a replica's.
 *
 * <ul>
 *   <li>Acquire is one script ({@link #ACQUIRE}): drop the expired members, refuse at {@code max}, else add the lease
 *       to expire {@code lease-ttl} from now and let the whole key expire then too (a key whose replicas all died
 *       vanishes by itself).</li>
 *   <li>Release is a {@code ZREM}, sent and not waited for; if it fails, the lease expires by its TTL.</li>
 *   <li>Every {@code lease-ttl / 3} one thread of its own (not an event loop) renews every live lease of this
 *       replica, one script ({@link #RENEW}) per key and batch of {@value #RENEW_BATCH} members, at most
 *       {@value #RENEW_WINDOW} scripts in flight. A renewal adds back a lease it finds gone (Redis restarted empty,
 *       or was out of reach for longer than the TTL) and counts it {@code lost}: its connection is still open, so
 *       it still counts against the limit; leaving it out would let the cluster admit more than {@code max} for as
 *       long as those connections live.</li>
 * </ul>
 *
 * Acquire, renewal and release share one connection, so Redis runs them in the order they were sent; a lease
 * released while its renewal was on the way is removed again once the renewal is answered. Live leases are held in a
 * concurrent set: one entry per open connection that holds a lease, removed by its release. Thread-safe.
 */
final class RedisLeases implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RedisLeases.class);

    /** Members renewed by one script at most. */
    static final int RENEW_BATCH = 256;

    /** Renewal scripts in flight at most, so renewing never takes the store's whole in-flight bound. */
    static final int RENEW_WINDOW = 8;

    /**
     * KEYS[1] the leases; ARGV[1] the new member, ARGV[2] max, ARGV[3] the lease TTL in ms. Returns 1 when the lease
     * was added, 0 at max.
     */
    static final Script ACQUIRE = new Script("""
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
            if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
              return 0
            end
            redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            return 1
            """);

    /**
     * KEYS[1] the leases; ARGV[1] the lease TTL in ms, ARGV[2..] members of this replica that are alive. Every member
     * then expires a TTL from now, the key too; returns how many members were not there (and are again).
     */
    static final Script RENEW = new Script("""
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local ttl = tonumber(ARGV[1])
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
            local lost = 0
            for i = 2, #ARGV do
              lost = lost + redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
            end
            redis.call('PEXPIRE', KEYS[1], ttl)
            return lost
            """);

    private static final AtomicIntegerFieldUpdater<Lease> RELEASED =
            AtomicIntegerFieldUpdater.newUpdater(Lease.class, "released");

    /** A Lua script and its SHA-1, run with EVALSHA and, when Redis does not know it (yet or anymore), EVAL. */
    record Script(String text, String sha) {
        Script(String text) {
            this(text, sha1(text));
        }

        private static String sha1(String text) {
            try {
                return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                        .digest(text.getBytes(StandardCharsets.UTF_8)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every Java platform has SHA-1", e);
            }
        }
    }

    private final ClusterStore store;
    private final ClusterStore.Connection<String, String> connection;
    private final String memberPrefix;
    private final String ttlMillis;
    private final long renewEveryMillis;
    private final AtomicLong sequence;
    private final Set<Lease> live = ConcurrentHashMap.newKeySet();
    private final LongAdder renewed = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private final ScheduledExecutorService renewer;
    private final Semaphore window = new Semaphore(RENEW_WINDOW);
    private volatile boolean renewalsFailing;
    private volatile boolean closed;

    /** Connects (in the background) and starts renewing. */
    RedisLeases(ClusterStore store) {
        this.store = store;
        this.connection = store.connect(StringCodec.UTF8);
        this.memberPrefix = store.replicaId() + ":";
        long ttl = Math.max(1, store.leaseTtl().toMillis());
        this.ttlMillis = Long.toString(ttl);
        this.renewEveryMillis = Math.max(1, ttl / 3);
        // a replica restarted under the same id starts its members past the last run's
        this.sequence = new AtomicLong(System.currentTimeMillis() * 1000);
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "portcullis-lease-renewal");
            thread.setDaemon(true);
            return thread;
        });
        renewer.scheduleWithFixedDelay(this::renewQuietly, renewEveryMillis, renewEveryMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Takes a lease in the sorted set at {@code redisKey} when it holds fewer than {@code max} live ones. Any thread;
     * completes on a store thread.
     */
    CompletableFuture<Optional<Permit>> tryAcquire(String redisKey, int max) {
        String member = memberPrefix + sequence.getAndIncrement();
        CompletableFuture<Long> added = run(ACQUIRE, redisKey, member, Integer.toString(max), ttlMillis);
        CompletableFuture<Optional<Permit>> result = new CompletableFuture<>();
        added.whenComplete((admitted, error) -> {
            if (error != null) {
                Throwable cause = unwrap(error);
                if (cause instanceof StoreUnavailableException failure
                        && failure.failure() == ClusterStore.Failure.TIMEOUT) {
                    // the script may still run once Redis answers: take back what it may add (same connection, so
                    // after it); if this fails too, the lease expires by its TTL
                    remove(redisKey, member);
                }
                result.completeExceptionally(cause);
            } else if (admitted == 1L) {
                Lease lease = new Lease(redisKey, member);
                live.add(lease);
                result.complete(Optional.of(lease));
            } else {
                result.complete(Optional.empty());
            }
        });
        return result;
    }

    /** Whether its connection is up now. */
    boolean connected() {
        return connection.connected();
    }

    /** Leases this replica holds now. */
    int held() {
        return live.size();
    }

    /** Leases renewed in Redis since the start. */
    long renewed() {
        return renewed.sum();
    }

    /** Leases that a renewal found gone from Redis (and added back) since the start. */
    long lost() {
        return lost.sum();
    }

    private void renewQuietly() {
        try {
            renew();
        } catch (RuntimeException e) {
            // a periodic task that throws is never run again
            log.warn("Renewing cluster leases failed; retrying in {} ms", renewEveryMillis, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One renewal of every live lease; on the renewal thread (tests call it directly). */
    void renew() throws InterruptedException {
        if (live.isEmpty()) {
            return;
        }
        Map<String, List<Lease>> byKey = new HashMap<>();
        for (Lease lease : live) {
            byKey.computeIfAbsent(lease.key, k -> new ArrayList<>()).add(lease);
        }
        for (Map.Entry<String, List<Lease>> entry : byKey.entrySet()) {
            List<Lease> leases = entry.getValue();
            for (int from = 0; from < leases.size(); from += RENEW_BATCH) {
                if (closed) {
                    return;
                }
                // each script is answered or failed within the store's timeout, so this waits that long at most
                if (!window.tryAcquire(renewEveryMillis, TimeUnit.MILLISECONDS)) {
                    return;
                }
                renew(entry.getKey(), leases.subList(from, Math.min(leases.size(), from + RENEW_BATCH)));
            }
        }
    }

    private void renew(String redisKey, List<Lease> batch) {
        String[] args = new String[batch.size() + 1];
        args[0] = ttlMillis;
        for (int i = 0; i < batch.size(); i++) {
            args[i + 1] = batch.get(i).member;
        }
        run(RENEW, redisKey, args).whenComplete((gone, error) -> {
            window.release();
            if (error == null) {
                lost.add(gone);
                renewed.add(batch.size() - gone);
                if (renewalsFailing) {
                    renewalsFailing = false;
                    log.info("Cluster leases renewed again");
                }
            } else if (!renewalsFailing) {
                renewalsFailing = true;
                log.warn("Cluster leases not renewed ({}): a lease not renewed within {} ms is gone, and added back"
                        + " when it is renewed again", unwrap(error).getMessage(), ttlMillis);
            }
            for (Lease lease : batch) {
                if (lease.isReleased()) {
                    // released while the renewal was on its way, which may have added it again
                    remove(redisKey, lease.member);
                }
            }
        });
    }

    private CompletableFuture<?> remove(String redisKey, String member) {
        StatefulRedisConnection<String, String> c = connection.connectionOrNull();
        if (c == null || !c.isOpen() || closed) {
            return CompletableFuture.completedFuture(null);
        }
        return store.bounded(() -> c.async().zrem(redisKey, member));
    }

    /** A script under the store's bounds, on this connection: EVALSHA, and EVAL when Redis lost its script cache. */
    private CompletableFuture<Long> run(Script script, String redisKey, String... args) {
        StatefulRedisConnection<String, String> c = connection.connectionOrNull();
        if (c == null || !c.isOpen()) {
            return store.bounded(() -> CompletableFuture.failedFuture(
                    new RedisConnectionException("no connection to Redis at " + store.shownUri())));
        }
        String[] keys = {redisKey};
        return store.bounded(() -> {
            RedisAsyncCommands<String, String> commands = c.async();
            return commands.<Long>evalsha(script.sha(), ScriptOutputType.INTEGER, keys, args).toCompletableFuture()
                    .exceptionallyCompose(error -> unwrap(error) instanceof RedisNoScriptException
                            ? commands.<Long>eval(script.text(), ScriptOutputType.INTEGER, keys, args)
                            .toCompletableFuture()
                            : CompletableFuture.failedFuture(error));
        });
    }

    private static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /**
     * Stops renewing and releases what is still held (the gateway has closed its connections by now), waiting for
     * Redis to answer the releases within the store's timeout. Not on an event loop.
     */
    @Override
    public void close() {
        renewer.shutdownNow();
        List<CompletableFuture<?>> releases = new ArrayList<>();
        for (Lease lease : live) {
            if (RELEASED.compareAndSet(lease, 0, 1)) {
                live.remove(lease);
                releases.add(remove(lease.key, lease.member));
            }
        }
        closed = true;
        try {
            CompletableFuture.allOf(releases.toArray(CompletableFuture[]::new))
                    .get(store.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // not released: expired by their TTL
        }
    }

    /** One connection's lease: the {@link Permit} that {@link #tryAcquire} returns. */
    private final class Lease implements Permit {

        private final String key;
        private final String member;
        volatile int released;

        Lease(String key, String member) {
            this.key = key;
            this.member = member;
        }

        /** Removes the lease from Redis (sent, not waited for); only the first call. Any thread; does not block. */
        @Override
        public void release() {
            if (RELEASED.compareAndSet(this, 0, 1)) {
                live.remove(this);
                remove(key, member);
            }
        }

        boolean isReleased() {
            return released != 0;
        }

        @Override
        public String toString() {
            return "ClusterLease[" + member + (isReleased() ? ", released]" : ", held]");
        }
    }
}
