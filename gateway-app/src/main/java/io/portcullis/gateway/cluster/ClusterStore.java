package io.portcullis.gateway.cluster;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.DefaultClientResources;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis that the replicas of one gateway share ({@code portcullis.cluster.redis}): connections that come up by
 * themselves, every command bounded in time ({@code timeout}) and in number ({@code pool.max-in-flight}), so a slow or
 * absent Redis costs a fast, typed failure ({@link StoreUnavailableException}) and never a wait.
 *
 * <p>Lettuce reconnects a connection it once had; a Redis that is down when the gateway starts is retried here in
 * the background (each second, then every five), and while a connection is down its commands fail at once instead
 * of queueing ({@code REJECT_COMMANDS}). Callbacks run on Lettuce's own threads, never on a listener's event loop.
 * Thread-safe.
 */
public final class ClusterStore implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClusterStore.class);

    /** Why a command was not answered; the tag of {@code portcullis_cluster_store_failures_total}. */
    public enum Failure {
        /** Not answered within {@code timeout}. */
        TIMEOUT,
        /** No connection to Redis now. */
        UNAVAILABLE,
        /** {@code max-in-flight} commands already waited. */
        OVERLOADED,
        /** Redis answered with an error, or the answer could not be read. */
        ERROR;

        public String tag() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final String replicaId;
    private final RedisURI uri;
    private final String shownUri;
    private final Duration timeout;
    private final Duration leaseTtl;
    private final int maxInFlight;
    private final ClientResources resources;
    private final RedisClient client;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final LongAdder[] failures = new LongAdder[Failure.values().length];
    private final List<Connection<?, ?>> connections = new ArrayList<>();
    private final AtomicInteger next = new AtomicInteger();
    private final Connection<String, String>[] commands;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Made on the first {@link #subscribe}. */
    private PubSub pubSub;

    /**
     * Starts connecting; returns at once, whether Redis is there or not.
     *
     * @param replicaId   this replica's name among the others
     * @param url         the Redis URL ({@code redis://}, {@code rediss://}, {@code redis-sentinel://})
     * @param timeout     per command
     * @param connections string connections for commands (each multiplexes)
     * @param maxInFlight commands unanswered at most
     * @param leaseTtl    how long a concurrency lease lives without renewal
     */
    @SuppressWarnings("unchecked")
    public ClusterStore(String replicaId, String url, Duration timeout, int connections, int maxInFlight,
                        Duration leaseTtl) {
        this.replicaId = Objects.requireNonNull(replicaId, "replicaId");
        this.uri = RedisURI.create(url);
        this.uri.setTimeout(timeout);
        this.shownUri = uri.getHost() == null ? "sentinel " + uri.getSentinelMasterId() : uri.getHost() + ":" + uri.getPort();
        this.timeout = timeout;
        this.leaseTtl = leaseTtl;
        this.maxInFlight = maxInFlight;
        for (int i = 0; i < failures.length; i++) {
            failures[i] = new LongAdder();
        }
        // Two threads: Redis traffic is small next to the relays, and must not take the cores they run on.
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2).build();
        this.client = RedisClient.create(resources);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .socketOptions(SocketOptions.builder().connectTimeout(connectTimeout(timeout)).keepAlive(true).build())
                .build());
        this.commands = new Connection[connections];
        for (int i = 0; i < connections; i++) {
            commands[i] = connect(StringCodec.UTF8);
        }
    }

    private static Duration connectTimeout(Duration timeout) {
        Duration min = Duration.ofSeconds(1);
        return timeout.compareTo(min) > 0 ? timeout : min;
    }

    /** This replica's name among the others. */
    public String replicaId() {
        return replicaId;
    }

    /** Per command. */
    public Duration timeout() {
        return timeout;
    }

    /** How long a concurrency lease lives without renewal. */
    public Duration leaseTtl() {
        return leaseTtl;
    }

    /** Where Redis is, without credentials: for logs and the admin API. */
    public String shownUri() {
        return shownUri;
    }

    /** Whether the command connections are up now. */
    public boolean connected() {
        for (Connection<String, String> c : commands) {
            if (!c.connected()) {
                return false;
            }
        }
        return true;
    }

    /** Commands sent and not answered now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Commands failed for {@code why} since the start. */
    public long failures(Failure why) {
        return failures[why.ordinal()].sum();
    }

    /**
     * Runs one command (or a script) on a string connection. The future fails with {@link StoreUnavailableException}
     * when there is no connection, {@code max-in-flight} is reached, Redis does not answer within {@code timeout} or
     * answers with an error. Completes on a Lettuce thread.
     */
    public <T> CompletableFuture<T> call(Function<RedisAsyncCommands<String, String>, RedisFuture<T>> command) {
        Connection<String, String> connection = commands[Math.floorMod(next.getAndIncrement(), commands.length)];
        return connection.call(command);
    }

    /**
     * A connection with its own codec (Bucket4j's buckets are byte arrays), connected in the background like the
     * others; its commands count against the same {@code max-in-flight}.
     */
    public synchronized <K, V> Connection<K, V> connect(RedisCodec<K, V> codec) {
        Connection<K, V> connection = new Connection<>(() -> client.connectAsync(codec, uri));
        connections.add(connection);
        connection.start();
        return connection;
    }

    /**
     * Runs {@code call} under the in-flight bound and maps its failure to {@link StoreUnavailableException};
     * for commands sent through another client API (Bucket4j's proxy manager) on a {@link Connection} of this store.
     */
    public <T> CompletableFuture<T> bounded(Supplier<? extends CompletionStage<T>> call) {
        if (closed.get()) {
            return failed(Failure.UNAVAILABLE, "the gateway is stopping");
        }
        if (inFlight.incrementAndGet() > maxInFlight) {
            inFlight.decrementAndGet();
            return failed(Failure.OVERLOADED, maxInFlight + " Redis commands in flight (pool.max-in-flight)");
        }
        CompletionStage<T> stage;
        try {
            stage = call.get();
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            return failed(classify(e), describe(e));
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        stage.whenComplete((value, error) -> {
            inFlight.decrementAndGet();
            if (error == null) {
                result.complete(value);
            } else {
                Throwable cause = unwrap(error);
                if (cause instanceof StoreUnavailableException unavailable) {
                    result.completeExceptionally(unavailable);
                } else {
                    Failure why = classify(cause);
                    failures[why.ordinal()].increment();
                    result.completeExceptionally(new StoreUnavailableException(why, describe(cause)));
                }
            }
        });
        return result;
    }

    private <T> CompletableFuture<T> failed(Failure why, String message) {
        failures[why.ordinal()].increment();
        return CompletableFuture.failedFuture(new StoreUnavailableException(why, message));
    }

    private static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static Failure classify(Throwable cause) {
        if (cause instanceof RedisCommandTimeoutException || cause instanceof java.util.concurrent.TimeoutException) {
            return Failure.TIMEOUT;
        }
        if (cause instanceof io.lettuce.core.RedisConnectionException
                || cause instanceof io.lettuce.core.RedisException && String.valueOf(cause.getMessage())
                .contains("not connected")) {
            return Failure.UNAVAILABLE;
        }
        return Failure.ERROR;
    }

    private static String describe(Throwable cause) {
        String message = cause.getMessage();
        return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    /** Meters of the store: {@code portcullis_cluster_store_up}, {@code _in_flight}, {@code _failures_total{reason}}. */
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("portcullis.cluster.store.up", this, s -> s.connected() ? 1 : 0)
                .description("1 while this replica's connections to the cluster's Redis are up")
                .register(registry);
        Gauge.builder("portcullis.cluster.store.in.flight", inFlight, AtomicInteger::get)
                .description("Redis commands sent and not answered yet").register(registry);
        for (Failure why : Failure.values()) {
            io.micrometer.core.instrument.FunctionCounter.builder("portcullis.cluster.store.failures",
                            failures[why.ordinal()], LongAdder::sum)
                    .description("Redis commands that failed: timeout, unavailable, overloaded (max-in-flight), error")
                    .tag("reason", why.tag()).register(registry);
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        synchronized (this) {
            for (Connection<?, ?> c : connections) {
                c.close();
            }
            if (pubSub != null) {
                pubSub.close();
            }
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    /** Runs {@code task} in {@code seconds} on a store thread, unless the store is closed (or closing) by then. */
    private void later(Runnable task, long seconds) {
        if (closed.get()) {
            return;
        }
        try {
            resources.eventExecutorGroup().schedule(() -> {
                if (!closed.get()) {
                    task.run();
                }
            }, seconds, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Closing: the threads are going, and so is the need to connect.
        }
    }

    /**
     * Closed here, waiting for it: the client's shutdown then finds it closed instead of closing it a second time (a
     * warning each), and it stops reconnecting before the threads it reconnects on go.
     */
    private static void closeQuietly(io.lettuce.core.api.StatefulConnection<?, ?> connection) {
        if (connection == null) {
            return;
        }
        try {
            connection.close();
        } catch (RuntimeException e) {
            log.debug("Closing a Redis connection failed", e);
        }
    }

    /**
     * Receives the messages published on {@code channel}, on the store's pub/sub connection: one connection for
     * every channel, made on the first call and connected in the background as the others are. Lettuce subscribes
     * a reconnected connection to its channels again by itself; a subscription that failed (Redis down or slow
     * when it was asked) is asked again by {@link #ensureSubscribed}. {@code onMessage} runs on a Lettuce thread,
     * one message at a time: it must be quick and must not block (hand work to a thread of your own). Publish with
     * {@link #call} ({@code c.publish(channel, message)}).
     *
     * @throws IllegalStateException when {@code channel} already has a receiver
     */
    public synchronized void subscribe(String channel, Consumer<String> onMessage) {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(onMessage, "onMessage");
        if (pubSub == null) {
            pubSub = new PubSub();
            pubSub.handlers.put(channel, onMessage);
            pubSub.start();
            return;
        }
        if (pubSub.handlers.putIfAbsent(channel, onMessage) != null) {
            throw new IllegalStateException("channel " + channel + " has a receiver already");
        }
        pubSub.subscribe(new String[] {channel});
    }

    /** Asks again for the subscriptions Redis has not confirmed, when connected. Any thread; returns at once. */
    public void ensureSubscribed() {
        PubSub p;
        synchronized (this) {
            p = pubSub;
        }
        if (p != null) {
            p.ensureSubscribed();
        }
    }

    /** Whether Redis confirmed every subscription of {@link #subscribe} on a connection that is up now. */
    public boolean subscribed() {
        PubSub p;
        synchronized (this) {
            p = pubSub;
        }
        return p != null && p.subscribed();
    }

    /**
     * The pub/sub connection: connected in the background until it is up (Lettuce then reconnects it and
     * subscribes it again), its channels' messages handed to their receivers.
     */
    private final class PubSub extends RedisPubSubAdapter<String, String> implements RedisConnectionStateListener {

        final Map<String, Consumer<String>> handlers = new ConcurrentHashMap<>();
        /** Channels Redis confirmed on the connection now up; cleared when it goes down. */
        final Set<String> confirmed = ConcurrentHashMap.newKeySet();
        private final Background<StatefulRedisPubSubConnection<String, String>> background = new Background<>(
                () -> client.connectPubSubAsync(StringCodec.UTF8, uri), ": pub/sub retried in the background",
                "pub/sub connection up", this::up);
        private final AtomicBoolean asking = new AtomicBoolean();

        void start() {
            background.start();
        }

        private void up(StatefulRedisPubSubConnection<String, String> c) {
            c.addListener((RedisPubSubAdapter<String, String>) this);
            c.addListener((RedisConnectionStateListener) this);
            subscribe(c, handlers.keySet().toArray(String[]::new));
        }

        void subscribe(String[] channels) {
            subscribe(background.get(), channels);
        }

        private void subscribe(StatefulRedisPubSubConnection<String, String> c, String[] channels) {
            if (c == null || !c.isOpen() || channels.length == 0) {
                return;
            }
            try {
                c.async().subscribe(channels).whenComplete((ok, error) -> {
                    if (error != null) {
                        log.debug("SUBSCRIBE {} failed ({}); asked again later", List.of(channels), describe(unwrap(error)));
                    }
                });
            } catch (RuntimeException e) {
                log.debug("SUBSCRIBE {} failed ({}); asked again later", List.of(channels), describe(e));
            }
        }

        void ensureSubscribed() {
            StatefulRedisPubSubConnection<String, String> c = background.get();
            if (c == null || !c.isOpen() || subscribed() || !asking.compareAndSet(false, true)) {
                return;
            }
            try {
                subscribe(handlers.keySet().stream().filter(ch -> !confirmed.contains(ch)).toArray(String[]::new));
            } finally {
                asking.set(false);
            }
        }

        boolean subscribed() {
            StatefulRedisPubSubConnection<String, String> c = background.get();
            return c != null && c.isOpen() && confirmed.containsAll(handlers.keySet());
        }

        @Override
        public void message(String channel, String message) {
            Consumer<String> handler = handlers.get(channel);
            if (handler == null) {
                return;
            }
            try {
                handler.accept(message);
            } catch (RuntimeException e) {
                log.warn("The receiver of channel {} failed", channel, e);
            }
        }

        @Override
        public void subscribed(String channel, long count) {
            confirmed.add(channel);
        }

        @Override
        public void unsubscribed(String channel, long count) {
            confirmed.remove(channel);
        }

        @Override
        public void onRedisDisconnected(RedisChannelHandler<?, ?> handler) {
            confirmed.clear();
        }

        void close() {
            background.close();
        }
    }

    /**
     * One connection of the store: connected in the background until it is up (Lettuce then keeps it up), its
     * commands under the store's bounds.
     */
    public final class Connection<K, V> {

        private final Background<StatefulRedisConnection<K, V>> background;

        private Connection(Supplier<CompletionStage<StatefulRedisConnection<K, V>>> connector) {
            this.background = new Background<>(connector, ": cluster-scope limiters follow their on-store-failure, the"
                    + " shared cache and pending list are left out until it is; retrying in the background",
                    "cluster state is shared again", c -> { });
        }

        private void start() {
            background.start();
        }

        /** Whether the connection is up now. */
        public boolean connected() {
            StatefulRedisConnection<K, V> c = background.get();
            return c != null && c.isOpen();
        }

        /** The connection once it was made (Lettuce reconnects it); null before. */
        public StatefulRedisConnection<K, V> connectionOrNull() {
            return background.get();
        }

        /** One command on this connection, under the store's bounds (see {@link ClusterStore#call}). */
        public <T> CompletableFuture<T> call(Function<RedisAsyncCommands<K, V>, RedisFuture<T>> command) {
            StatefulRedisConnection<K, V> c = background.get();
            if (c == null || !c.isOpen()) {
                return failed(Failure.UNAVAILABLE, "no connection to Redis at " + shownUri);
            }
            return bounded(() -> command.apply(c.async()));
        }

        private void close() {
            background.close();
        }
    }

    /**
     * Connects in the background until a connection is up: Lettuce reconnects a connection it once had, not one it
     * never made. Tried each second, then every five; the first failure and the recovery are logged once.
     */
    private final class Background<C extends io.lettuce.core.api.StatefulConnection<?, ?>> {

        private final Supplier<? extends CompletionStage<C>> connector;
        private final String downNote;
        private final String upNote;
        private final Consumer<C> onUp;
        private volatile C connection;
        private volatile boolean toldDown;
        private int attempts;

        Background(Supplier<? extends CompletionStage<C>> connector, String downNote, String upNote, Consumer<C> onUp) {
            this.connector = connector;
            this.downNote = downNote;
            this.upNote = upNote;
            this.onUp = onUp;
        }

        void start() {
            if (closed.get()) {
                return;
            }
            CompletionStage<C> attempt;
            try {
                attempt = connector.get();
            } catch (RuntimeException e) {
                retry(e);
                return;
            }
            attempt.whenComplete((c, error) -> {
                if (error != null) {
                    retry(error);
                } else if (closed.get()) {
                    c.closeAsync();
                } else {
                    // Set up (listeners, subscriptions) before others can see it.
                    onUp.accept(c);
                    connection = c;
                    if (toldDown) {
                        log.info("Redis at {} reachable: {}", shownUri, upNote);
                    }
                }
            });
        }

        private void retry(Throwable error) {
            if (!toldDown) {
                toldDown = true;
                log.warn("Redis at {} not reachable ({}){}", shownUri, describe(unwrap(error)), downNote);
            }
            long delay = attempts++ < 5 ? 1 : 5;
            later(this::start, delay);
        }

        /** The connection once it was made (Lettuce reconnects it); null before. */
        C get() {
            return connection;
        }

        void close() {
            closeQuietly(connection);
        }
    }
}
