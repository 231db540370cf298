package io.portcullis.gateway.cluster;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.portcullis.core.InspectAction;
import io.portcullis.gateway.pending.OperatorCompletion;
import io.portcullis.gateway.pending.OperatorCompletion.Result;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code POST /admin/pending/{id}?replica=R} on a replica that is not R: the completion goes to R through Redis
 * pub/sub and R's answer comes back the same way.
 *
 * <p>Each replica receives commands on {@code portcullis:pending:commands:{replica}} and answers on
 * {@code portcullis:pending:replies:{asker}}. A command is {@code {"v":1,"type":"complete","req","from","to",
 * "sentAt","id","action","route"}}, an answer {@code {"v":1,"type":"reply","req","from","to","status","body"}}, both
 * signed ({@link SignedMessages}, a key from the admin token). The holder takes a command only when its signature
 * holds, it is addressed to this replica, it was sent within {@link #MAX_SKEW} of the holder's clock and its
 * {@code req} was not seen before (a replay changes nothing); it then completes exactly as a local POST does
 * ({@link OperatorCompletion}: {@code decidedBy: operator}, the same audit line and status) and answers. The asker
 * waits without blocking, at most {@code deadline}: 504 after it (the outcome is then unknown), 404 when no replica
 * R listens, 503 when Redis does not take the command.
 *
 * <p>Messages are handled on {@code worker}, never on a Lettuce thread. Thread-safe.
 */
final class PendingRelay {

    private static final Logger log = LoggerFactory.getLogger(PendingRelay.class);

    static final String COMMANDS = "portcullis:pending:commands:";
    static final String REPLIES = "portcullis:pending:replies:";
    /** How far the sender's clock may be from the holder's; older (or later) commands are dropped. */
    static final Duration MAX_SKEW = Duration.ofSeconds(30);
    /** Completions waiting for another replica at once, at most. */
    static final int MAX_WAITING = 1000;
    private static final Pattern REPLICA = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final Pattern REQ = Pattern.compile("[A-Za-z0-9-]{1,64}");
    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private final ClusterStore store;
    private final String self;
    private final SignedMessages signer;
    private final OperatorCompletion completion;
    private final Executor worker;
    private final Duration deadline;
    private final Map<String, Waiting> waiting = new ConcurrentHashMap<>();
    /** Command ids seen within twice the skew: a replayed command is dropped. */
    private final Cache<String, Boolean> seen = Caffeine.newBuilder()
            .expireAfterWrite(MAX_SKEW.multipliedBy(2)).maximumSize(100_000).executor(Runnable::run).build();
    private final AtomicLong nextWarning = new AtomicLong(System.nanoTime());
    private final AtomicLong refused = new AtomicLong();

    private record Waiting(String replica, CompletableFuture<Result> answer) {
    }

    PendingRelay(ClusterStore store, SignedMessages signer, OperatorCompletion completion, Executor worker,
                 Duration deadline) {
        this.store = Objects.requireNonNull(store, "store");
        this.self = store.replicaId();
        this.signer = Objects.requireNonNull(signer, "signer");
        this.completion = Objects.requireNonNull(completion, "completion");
        this.worker = Objects.requireNonNull(worker, "worker");
        this.deadline = Objects.requireNonNull(deadline, "deadline");
    }

    /** Subscribes to this replica's channels (in the background while Redis is away). */
    void start() {
        store.subscribe(COMMANDS + self, message -> worker.execute(() -> command(message)));
        store.subscribe(REPLIES + self, message -> worker.execute(() -> reply(message)));
    }

    /** Commands dropped since the start: bad signature, not for us, too old, replayed, malformed. */
    long refused() {
        return refused.get();
    }

    /**
     * Completes {@code request} on {@code replica}. Never fails; completes on a store or worker thread, at the latest
     * after {@code deadline}. Any thread.
     */
    CompletableFuture<Result> complete(String replica, OperatorCompletion.Request request) {
        if (waiting.size() >= MAX_WAITING) {
            return CompletableFuture.completedFuture(error(503, MAX_WAITING + " completions already wait for other "
                    + "replicas", replica));
        }
        String req = UUID.randomUUID().toString();
        ObjectNode payload = MAPPER.createObjectNode();
        payload.put("v", 1);
        payload.put("type", "complete");
        payload.put("req", req);
        payload.put("from", self);
        payload.put("to", replica);
        payload.put("sentAt", System.currentTimeMillis());
        payload.put("id", request.id().toString());
        payload.put("action", request.action() == InspectAction.ACCEPT ? "accept" : "reject");
        payload.put("route", request.route().orElse(null));
        CompletableFuture<Result> answer = new CompletableFuture<>();
        waiting.put(req, new Waiting(replica, answer));
        answer.completeOnTimeout(error(504, "replica '" + replica + "' did not answer within " + deadline.toMillis()
                        + " ms; whether it completed the inspection is unknown (see GET /admin/pending?cluster=true)",
                replica), deadline.toMillis(), TimeUnit.MILLISECONDS);
        answer.whenComplete((r, e) -> waiting.remove(req));
        String message = signer.sign(MAPPER.writeValueAsString(payload));
        store.call(c -> c.publish(COMMANDS + replica, message)).whenComplete((receivers, error) -> {
            if (error != null) {
                answer.complete(error(503, "the cluster's Redis did not take the command: " + error.getMessage(),
                        replica));
            } else if (receivers == null || receivers == 0) {
                answer.complete(error(404, "replica '" + replica + "' is not listening: it is not in the cluster "
                        + "now, or not connected to its Redis", replica));
            }
        });
        return answer;
    }

    private static Result error(int status, String message, String replica) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", message);
        body.put("replica", replica);
        return new Result(status, body);
    }

    /** A command for this replica (worker thread). */
    private void command(String message) {
        Optional<String> payload = signer.open(message);
        if (payload.isEmpty()) {
            refuse("a command whose signature does not hold (do all replicas share portcullis.admin.token?)");
            return;
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(payload.get());
        } catch (JacksonException e) {
            refuse("a signed command that is not JSON");
            return;
        }
        String from = text(n, "from");
        String req = text(n, "req");
        if (!"complete".equals(text(n, "type")) || n.path("v").asInt(0) != 1 || from == null
                || !REPLICA.matcher(from).matches() || req == null || !REQ.matcher(req).matches()
                || !n.path("sentAt").isIntegralNumber()) {
            refuse("a malformed command");
            return;
        }
        if (!self.equals(text(n, "to"))) {
            refuse("a command for replica '" + text(n, "to") + "' on the channel of '" + self + "'");
            return;
        }
        long skew = Math.abs(System.currentTimeMillis() - n.path("sentAt").asLong());
        if (skew > MAX_SKEW.toMillis()) {
            refuse("a command sent " + skew + " ms from now by replica '" + from + "' (clocks apart, or a replay)");
            return;
        }
        if (seen.asMap().putIfAbsent(req, Boolean.TRUE) != null) {
            refuse("a command seen before (a replay)");
            return;
        }
        Result result;
        try {
            result = completion.complete(String.valueOf(text(n, "id")), text(n, "action"), text(n, "route"));
        } catch (RuntimeException e) {
            log.warn("Completing inspection {} for replica '{}' failed", text(n, "id"), from, e);
            result = new Result(500, Map.of("error", "the replica failed to complete it: " + e));
        }
        if (result.status() == 200) {
            log.info("Inspection {} of listener '{}' completed ({}) by an operator through replica '{}'",
                    result.body().get("id"), result.body().get("listener"), result.body().get("action"), from);
        }
        ObjectNode reply = MAPPER.createObjectNode();
        reply.put("v", 1);
        reply.put("type", "reply");
        reply.put("req", req);
        reply.put("from", self);
        reply.put("to", from);
        reply.put("status", result.status());
        reply.set("body", MAPPER.valueToTree(result.body()));
        String signed = signer.sign(MAPPER.writeValueAsString(reply));
        store.call(c -> c.publish(REPLIES + from, signed));
    }

    /** An answer to a command of this replica (worker thread). */
    private void reply(String message) {
        Optional<String> payload = signer.open(message);
        if (payload.isEmpty()) {
            refuse("a reply whose signature does not hold");
            return;
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(payload.get());
        } catch (JacksonException e) {
            refuse("a signed reply that is not JSON");
            return;
        }
        String req = text(n, "req");
        Waiting w = req == null ? null : waiting.get(req);
        if (w == null || !"reply".equals(text(n, "type")) || !self.equals(text(n, "to"))
                || !w.replica().equals(text(n, "from"))) {
            // Late (past the deadline), or not ours: nobody waits for it.
            return;
        }
        int status = n.path("status").asInt(0);
        JsonNode body = n.get("body");
        if (status < 200 || status > 599 || body == null || !body.isObject()) {
            w.answer().complete(error(502, "replica '" + w.replica() + "' answered something malformed", w.replica()));
            return;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> fields = MAPPER.convertValue(body, LinkedHashMap.class);
        w.answer().complete(new Result(status, fields).with("replica", w.replica()));
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isString() ? v.stringValue() : null;
    }

    /** Counts a dropped message and says so, once per ten seconds at most. */
    private void refuse(String what) {
        refused.incrementAndGet();
        long now = System.nanoTime();
        long next = nextWarning.get();
        if (now - next >= 0 && nextWarning.compareAndSet(next, now + TimeUnit.SECONDS.toNanos(10))) {
            log.warn("Cluster pending relay: dropped {} (on replica '{}'; {} dropped since the start)", what, self,
                    refused.get());
        }
    }
}
