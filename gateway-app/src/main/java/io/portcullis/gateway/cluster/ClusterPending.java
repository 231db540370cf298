package io.portcullis.gateway.cluster;

import io.lettuce.core.KeyValue;
import io.lettuce.core.ScoredValue;
import io.portcullis.gateway.pending.OperatorCompletion;
import io.portcullis.gateway.pending.PendingEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One pending list for the cluster: each replica publishes its pended inspections in Redis
 * ({@link PendingPublisher}), {@link #view()} reads every replica's ({@code GET /admin/pending?cluster=true}), and
 * {@link #complete} completes one held by another replica through Redis pub/sub ({@link PendingRelay},
 * {@code POST /admin/pending/{id}?replica=R}).
 *
 * <p>Ids are per replica ({@link io.portcullis.core.InspectId} counts from 1 in every process), so the cluster
 * view gives each entry its {@code replica}, and a completion names it.
 *
 * <p>Redis is the cluster's trust boundary: whoever can read it sees the pending connections' addresses, and
 * whoever can write it can hide or invent entries of the view. Commands are signed with a key derived from the admin
 * token, so writing to Redis alone does not let a client complete connections. Publishing and relaying run on two
 * threads of their own, never on an event loop or a Lettuce thread. Thread-safe.
 */
public final class ClusterPending implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClusterPending.class);
    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    /** Replicas the view reads at most (the most recently seen). */
    static final int MAX_REPLICAS = 1000;

    /**
     * @param publishInterval how often this replica publishes its list
     * @param ttl             how long a list lives unless published again: a replica gone (or cut off) for this long
     *                        is stale, its entries out of the view
     * @param maxEntries      entries published at most per replica (the oldest first); the view says when a list is
     *                        truncated
     * @param relayDeadline   how long a completion relayed to another replica waits for its answer
     */
    public record Settings(Duration publishInterval, Duration ttl, int maxEntries, Duration relayDeadline) {

        public static final Settings DEFAULTS = new Settings(Duration.ofSeconds(1), Duration.ofSeconds(5), 10_000,
                Duration.ofSeconds(2));

        public Settings {
            Objects.requireNonNull(publishInterval, "publishInterval");
            Objects.requireNonNull(ttl, "ttl");
            Objects.requireNonNull(relayDeadline, "relayDeadline");
            if (publishInterval.toMillis() < 10 || ttl.compareTo(publishInterval.multipliedBy(2)) < 0) {
                throw new IllegalArgumentException("the TTL must cover two publications at least");
            }
            if (maxEntries < 1 || relayDeadline.toMillis() < 1) {
                throw new IllegalArgumentException("maxEntries and relayDeadline must be positive");
            }
        }
    }

    private final ClusterStore store;
    private final String self;
    private final Supplier<List<PendingEntry>> local;
    private final Settings settings;
    private final PendingPublisher publisher;
    private final PendingRelay relay;
    private final ScheduledExecutorService publishing;
    private final ThreadPoolExecutor relaying;
    private final AtomicLong droppedMessages = new AtomicLong();

    /**
     * @param store      the cluster's Redis
     * @param local      this replica's pended inspections now, the oldest first (any thread but an event loop)
     * @param completion completes on this replica, as a local POST does
     * @param adminToken the admin token, the same on every replica: the secret that signs commands
     * @param settings   timings and bounds
     */
    public ClusterPending(ClusterStore store, Supplier<List<PendingEntry>> local, OperatorCompletion completion,
                          String adminToken, Settings settings) {
        this.store = Objects.requireNonNull(store, "store");
        this.self = store.replicaId();
        this.local = Objects.requireNonNull(local, "local");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.publisher = new PendingPublisher(store, local, settings.ttl(), settings.maxEntries());
        this.publishing = new ScheduledThreadPoolExecutor(1, daemon("portcullis-cluster-pending"));
        // Messages from Redis wait here, bounded: a flood on the channel is dropped, not queued without end.
        this.relaying = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(1024),
                daemon("portcullis-cluster-relay"), (task, executor) -> droppedMessages.incrementAndGet());
        this.relay = new PendingRelay(store, new SignedMessages(adminToken, SignedMessages.PENDING_RELAY), completion, relaying,
                settings.relayDeadline());
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Subscribes to this replica's channels and starts publishing; returns at once, whether Redis is there or not. */
    public ClusterPending start() {
        relay.start();
        publishing.scheduleWithFixedDelay(this::publish, 0, settings.publishInterval().toMillis(), TimeUnit.MILLISECONDS);
        log.info("Cluster pending list: replica {} publishes its pended inspections every {} ms (at most {}, kept {} "
                        + "ms) and takes completions relayed by the others", self, settings.publishInterval().toMillis(),
                settings.maxEntries(), settings.ttl().toMillis());
        return this;
    }

    private void publish() {
        try {
            publisher.publish();
            store.ensureSubscribed();
        } catch (RuntimeException e) {
            log.warn("Publishing the pending list failed", e);
        }
    }

    /** This replica's name. */
    public String replicaId() {
        return self;
    }

    /** Relayed messages dropped since the start: refused (signature, address, age, replay) or past the queue. */
    public long droppedMessages() {
        return droppedMessages.get() + relay.refused();
    }

    /**
     * The pended inspections of every replica, as the body of {@code GET /admin/pending?cluster=true}:
     * {@code {"replica": this one, "replicas": [{"replica","state","self","pending","truncated","lastSeenMillis"}],
     * "stale": [replicas without a list], "pending": [entries with their "replica", the oldest first]}}. A replica's
     * {@code state} is {@code ok}, {@code stale} (its list expired: it stopped, died or lost Redis; it leaves the set
     * after {@link PendingPublisher#FORGET_AFTER}) or {@code unreadable}. This replica's own entries are its live
     * ones. Fails with {@link StoreUnavailableException} when Redis does not answer within its timeout. Any thread
     * but an event loop.
     */
    public CompletableFuture<Map<String, Object>> view() {
        List<PendingEntry> mine = local.get();
        return store.<List<ScoredValue<String>>>call(c -> c.zrevrangeWithScores(PendingPublisher.REPLICAS, 0,
                        MAX_REPLICAS - 1))
                .thenCompose(members -> {
                    List<ScoredValue<String>> others = members.stream().filter(m -> !self.equals(m.getValue())).toList();
                    if (others.isEmpty()) {
                        return CompletableFuture.completedFuture(view(mine, others, List.of()));
                    }
                    String[] keys = others.stream().map(m -> PendingPublisher.LIST + m.getValue()).toArray(String[]::new);
                    return store.<List<KeyValue<String, String>>>call(c -> c.mget(keys))
                            .thenApply(lists -> view(mine, others, lists));
                });
    }

    private Map<String, Object> view(List<PendingEntry> mine, List<ScoredValue<String>> others,
                                     List<KeyValue<String, String>> lists) {
        long now = System.currentTimeMillis();
        List<Map<String, Object>> replicas = new ArrayList<>();
        List<String> stale = new ArrayList<>();
        List<Map<String, Object>> entries = new ArrayList<>();
        Map<String, Object> me = new LinkedHashMap<>();
        me.put("replica", self);
        me.put("state", "ok");
        me.put("self", true);
        me.put("pending", mine.size());
        me.put("truncated", false);
        replicas.add(me);
        for (PendingEntry e : mine) {
            entries.add(withReplica(self, e.toJson()));
        }
        for (int i = 0; i < others.size(); i++) {
            String replica = others.get(i).getValue();
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("replica", replica);
            KeyValue<String, String> list = i < lists.size() ? lists.get(i) : null;
            List<Map<String, Object>> theirs = null;
            if (list != null && list.hasValue()) {
                theirs = read(replica, list.getValue(), now, r);
            }
            r.put("state", list == null || !list.hasValue() ? "stale" : theirs == null ? "unreadable" : "ok");
            r.put("self", false);
            r.put("lastSeenMillis", Math.max(0, now - (long) others.get(i).getScore()));
            if (theirs == null) {
                stale.add(replica);
            } else {
                entries.addAll(theirs);
            }
            replicas.add(r);
        }
        entries.sort(Comparator.comparingLong((Map<String, Object> m) -> (Long) m.get("ageMillis")).reversed());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("replica", self);
        out.put("replicas", replicas);
        out.put("stale", stale);
        out.put("pending", entries);
        return out;
    }

    /** The entries of another replica's list, as the view shows them; null when it is not a list of that replica. */
    private static List<Map<String, Object>> read(String replica, String text, long now, Map<String, Object> summary) {
        try {
            JsonNode doc = MAPPER.readTree(text);
            if (doc == null || doc.path("v").asInt(0) != 1 || !replica.equals(doc.path("replica").asString(null))
                    || !doc.path("entries").isArray()) {
                return null;
            }
            List<Map<String, Object>> out = new ArrayList<>();
            for (JsonNode item : doc.path("entries")) {
                long pendedAt = item.path("pendedAt").asLong(now);
                long deadlineAt = item.path("deadlineAt").asLong(now);
                PendingEntry e = new PendingEntry(item.path("id").asString(""), item.path("listener").asString(""),
                        item.path("source").asString(""), item.path("peer").asString(""),
                        item.path("rule").asString(""), Math.max(0, now - pendedAt), Math.max(0, deadlineAt - now),
                        item.path("heldBytes").asInt(0), item.path("halfClosed").asBoolean(false),
                        java.util.Optional.ofNullable(item.path("route").isString() ? item.path("route").stringValue()
                                : null));
                out.add(withReplica(replica, e.toJson()));
            }
            summary.put("pending", doc.path("total").asInt(out.size()));
            summary.put("truncated", doc.path("truncated").asBoolean(false));
            return out;
        } catch (JacksonException | IllegalArgumentException e) {
            return null;
        }
    }

    private static Map<String, Object> withReplica(String replica, Map<String, Object> entry) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("replica", replica);
        out.putAll(entry);
        return out;
    }

    /**
     * Completes {@code request} on {@code replica}, another replica, as {@code POST /admin/pending/{id}} there would:
     * its status and body (with {@code replica}), 404 when that replica does not listen, 503 when Redis does not
     * take the command, 504 when no answer came within {@code relayDeadline}. Never fails. Any thread.
     */
    public CompletableFuture<OperatorCompletion.Result> complete(String replica, OperatorCompletion.Request request) {
        return relay.complete(replica, request);
    }

    /** Stops publishing and relaying, and takes this replica's list out of Redis (waiting a second at most). */
    @Override
    public void close() {
        publishing.shutdownNow();
        relaying.shutdownNow();
        try {
            publishing.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        publisher.withdraw(Duration.ofSeconds(1));
    }
}
