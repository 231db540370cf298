package io.portcullis.gateway.cluster;

import io.lettuce.core.Range;
import io.portcullis.gateway.pending.PendingEntry;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Publishes this replica's pended inspections for the cluster view, at each {@link #publish()}: the list as one JSON
 * string {@code portcullis:pending:list:{replica}} that lives {@code ttl} unless published again, and the replica in
 * the sorted set {@code portcullis:pending:replicas} (score: the time of its last publication, epoch ms), whence
 * members not seen for {@link #FORGET_AFTER} are removed.
 *
 * <p>The list is {@code {"v":1,"replica","total","truncated","entries":[{"id","listener","source","peer","rule",
 * "pendedAt","deadlineAt","heldBytes","halfClosed","route"}]}}, the oldest {@code maxEntries} first; times are epoch
 * ms of this replica's clock, so the list stays the same while nothing changes, and then only its TTL is renewed
 * ({@code PEXPIRE}), not the list sent again. Called from one thread at a time. Store failures are counted by the
 * store and retried at the next publication.
 */
final class PendingPublisher {

    static final String LIST = "portcullis:pending:list:";
    static final String REPLICAS = "portcullis:pending:replicas";
    /** A replica that has not published for this long leaves the set of replicas (and the cluster view). */
    static final Duration FORGET_AFTER = Duration.ofMinutes(1);
    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private final ClusterStore store;
    private final String self;
    private final Supplier<List<PendingEntry>> local;
    private final Duration ttl;
    private final int maxEntries;
    /** When each inspection (listener and id) was pended, by this clock: fixed once seen, so the list is stable. */
    private Map<String, long[]> times = new HashMap<>();
    /** The list Redis holds, as far as this replica knows; null: send it again. */
    private final AtomicReference<String> published = new AtomicReference<>();

    PendingPublisher(ClusterStore store, Supplier<List<PendingEntry>> local, Duration ttl, int maxEntries) {
        this.store = Objects.requireNonNull(store, "store");
        this.self = store.replicaId();
        this.local = Objects.requireNonNull(local, "local");
        this.ttl = Objects.requireNonNull(ttl, "ttl");
        this.maxEntries = maxEntries;
    }

    /** Publishes the list and the heartbeat once; returns when both were sent (not answered). */
    void publish() {
        String list = list(local.get(), System.currentTimeMillis());
        String key = LIST + self;
        long now = System.currentTimeMillis();
        if (list.equals(published.get())) {
            store.call(c -> c.pexpire(key, ttl.toMillis())).whenComplete((renewed, error) -> {
                if (error != null || !Boolean.TRUE.equals(renewed)) {
                    published.compareAndSet(list, null);
                }
            });
        } else {
            published.set(null);
            store.call(c -> c.psetex(key, ttl.toMillis(), list)).whenComplete((ok, error) -> {
                if (error == null) {
                    published.set(list);
                }
            });
        }
        store.call(c -> c.zadd(REPLICAS, (double) now, self));
        store.call(c -> c.zremrangebyscore(REPLICAS, Range.create(Double.NEGATIVE_INFINITY,
                (double) (now - FORGET_AFTER.toMillis()))));
    }

    /** The list of {@code entries} as published; remembers when each was pended. */
    String list(List<PendingEntry> entries, long now) {
        Map<String, long[]> next = new HashMap<>();
        ObjectNode doc = MAPPER.createObjectNode();
        doc.put("v", 1);
        doc.put("replica", self);
        doc.put("total", entries.size());
        doc.put("truncated", entries.size() > maxEntries);
        ArrayNode out = doc.putArray("entries");
        for (PendingEntry e : entries.subList(0, Math.min(entries.size(), maxEntries))) {
            String id = e.listener() + "/" + e.id();
            long[] at = times.get(id);
            if (at == null) {
                at = new long[] {now - e.ageMillis(), now + e.remainingMillis()};
            }
            next.put(id, at);
            ObjectNode item = out.addObject();
            item.put("id", e.id());
            item.put("listener", e.listener());
            item.put("source", e.source());
            item.put("peer", e.peer());
            item.put("rule", e.rule());
            item.put("pendedAt", at[0]);
            item.put("deadlineAt", at[1]);
            item.put("heldBytes", e.heldBytes());
            item.put("halfClosed", e.halfClosed());
            item.put("route", e.route().orElse(null));
        }
        times = next;
        return MAPPER.writeValueAsString(doc);
    }

    /** Takes this replica out of the cluster view at once (a clean stop); waits up to {@code wait}. */
    void withdraw(Duration wait) {
        CompletableFuture<?> list = store.call(c -> c.del(LIST + self));
        CompletableFuture<?> member = store.call(c -> c.zrem(REPLICAS, self));
        try {
            CompletableFuture.allOf(list, member).get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // Gone with its TTL then.
        }
    }
}
