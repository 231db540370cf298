package io.portcullis.gateway.decision;

import io.lettuce.core.ScriptOutputType;
import io.portcullis.core.InspectAction;
import io.portcullis.gateway.cluster.ClusterStore;
import io.portcullis.gateway.cluster.SignedMessages;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The answers of one decision service shared by the replicas through the cluster's Redis
 * ({@code cache.scope: cluster}).
 *
 * <p>One string per {@link DecisionKey}: {@code portcullis:verdict:{service}:{hash}}, the hash being SHA-256 of the
 * key's parts (listener, rule, source address, SNI), base64url: fixed length, nothing to escape, no client data in
 * key names. The value is the answer in the {@code type: http} answer format with the key's parts beside it,
 * {@code {"v":1,"listener","rule","source","sni","action","reason","route"}}, signed ({@link SignedMessages}, a key
 * derived from the admin token for this purpose: {@code MAC.json}) and written with {@code SET ... PX ttl}, so
 * Redis drops it when its TTL is over and an entry is never served past it. A read takes the value and its
 * remaining TTL in one script; the value must carry a valid MAC (whoever can write to Redis but lacks the admin
 * token cannot plant an answer), be a valid answer ({@link DecisionJson#parse}) for this very key, a route must be a
 * pool of the listener, and the entry must carry a TTL of at most 24 h: anything else is
 * {@link ClusterCacheResult#INVALID}, a miss.
 *
 * <p>Every command runs under the store's bounds (its timeout, its in-flight cap); a failure is a miss
 * ({@link ClusterCacheResult#ERROR}) and writes are fire and forget. Futures complete on a store thread. Thread-safe.
 */
final class ClusterVerdicts {

    static final String PREFIX = "portcullis:verdict:";
    /** The signing purpose of the entries: their key is not the pending relay's. */
    static final String PURPOSE = "portcullis cluster verdict v1";
    /** Longer values are not read, let alone parsed: no answer of ours comes near. */
    static final int MAX_VALUE_CHARS = 4096;

    /** The value and its remaining TTL in one round trip; a value too long to be ours is not sent back. */
    private static final String LOOKUP = """
            local v = redis.call('GET', KEYS[1])
            if not v then return {} end
            if string.len(v) > tonumber(ARGV[1]) then return {'', -3} end
            return {v, redis.call('PTTL', KEYS[1])}
            """;
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** What a look-up found: a decision only with {@link ClusterCacheResult#HIT}, its ttl what is left of the entry's. */
    record Lookup(ClusterCacheResult result, Optional<Decision> decision, String problem) {

        static Lookup hit(Decision decision) {
            return new Lookup(ClusterCacheResult.HIT, Optional.of(decision), "");
        }

        static Lookup of(ClusterCacheResult result, String problem) {
            return new Lookup(result, Optional.empty(), problem);
        }
    }

    private final String service;
    private final ClusterStore store;
    private final Duration defaultTtl;
    private final SignedMessages signer;

    /**
     * @param service    the decision service's name
     * @param store      the cluster's Redis
     * @param defaultTtl the cache's {@code ttl}: how long an answer without its own is kept
     * @param secret     the admin token, the same on every replica: the entries' signing secret
     */
    ClusterVerdicts(String service, ClusterStore store, Duration defaultTtl, String secret) {
        this.service = Objects.requireNonNull(service, "service");
        this.store = Objects.requireNonNull(store, "store");
        this.defaultTtl = Objects.requireNonNull(defaultTtl, "defaultTtl");
        this.signer = new SignedMessages(secret, PURPOSE);
    }

    /**
     * The entry of {@code key}, validated. Never fails: a store failure is {@link ClusterCacheResult#ERROR}.
     * Any thread; completes on a store thread (or at once when the store refuses the command).
     *
     * @param routes the pools a route may name on the key's listener
     */
    CompletableFuture<Lookup> lookup(DecisionKey key, Set<String> routes) {
        String redisKey = redisKey(service, key);
        CompletableFuture<List<Object>> reply;
        try {
            reply = store.call(c -> c.eval(LOOKUP, ScriptOutputType.MULTI, new String[] {redisKey},
                    Integer.toString(MAX_VALUE_CHARS)));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(Lookup.of(ClusterCacheResult.ERROR, e.toString()));
        }
        return reply.handle((answer, error) -> error != null
                ? Lookup.of(ClusterCacheResult.ERROR, String.valueOf(error.getMessage()))
                : read(key, answer, routes, signer));
    }

    /** The look-up script's answer as a result. */
    static Lookup read(DecisionKey key, List<Object> answer, Set<String> routes, SignedMessages signer) {
        if (answer == null || answer.isEmpty()) {
            return Lookup.of(ClusterCacheResult.MISS, "");
        }
        if (answer.size() != 2 || !(answer.get(0) instanceof String value) || !(answer.get(1) instanceof Long pttl)) {
            return Lookup.of(ClusterCacheResult.INVALID, "not a value and a TTL");
        }
        if (pttl == -3) {
            return Lookup.of(ClusterCacheResult.INVALID, "value longer than " + MAX_VALUE_CHARS + " characters");
        }
        if (pttl == -2) {
            return Lookup.of(ClusterCacheResult.MISS, "");
        }
        if (pttl < 0) {
            return Lookup.of(ClusterCacheResult.INVALID, "entry without a TTL");
        }
        if (pttl == 0 || pttl > DecisionServiceSettings.CacheSettings.MAX_TTL.toMillis()) {
            return pttl == 0 ? Lookup.of(ClusterCacheResult.MISS, "")
                    : Lookup.of(ClusterCacheResult.INVALID, "TTL longer than 24h");
        }
        Optional<String> json = signer.open(value);
        if (json.isEmpty()) {
            return Lookup.of(ClusterCacheResult.INVALID, "not signed with this cluster's key (the admin token)");
        }
        try {
            Decision decision = decode(key, json.get(), routes);
            return Lookup.hit(new Decision(decision.action(), decision.reason(), Optional.of(Duration.ofMillis(pttl)),
                    decision.route()));
        } catch (MalformedAnswerException e) {
            return Lookup.of(ClusterCacheResult.INVALID, e.getMessage());
        }
    }

    /**
     * Shares an answer the service gave: kept for its own {@code ttl}, else the cache's; a zero TTL removes the
     * entry, as it keeps nothing locally. Fire and forget: a failure is counted by the store. Any thread.
     */
    void remember(DecisionKey key, Decision decision) {
        Duration ttl = decision.ttl().orElse(defaultTtl);
        String redisKey = redisKey(service, key);
        try {
            if (ttl.isZero() || ttl.isNegative()) {
                store.call(c -> c.del(redisKey));
            } else {
                String value = signer.sign(encode(key, decision));
                store.call(c -> c.psetex(redisKey, ttl.toMillis(), value));
            }
        } catch (RuntimeException e) {
            // the store counts its failures; a write that did not go out is a later miss
        }
    }

    /** {@code portcullis:verdict:{service}:{base64url(SHA-256 of the key's parts)}}. */
    static String redisKey(String service, DecisionKey key) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
        // Each part with its length first: no two keys give the same bytes, whatever their parts hold.
        part(sha, key.listener().getBytes(StandardCharsets.UTF_8));
        part(sha, key.rule().getBytes(StandardCharsets.UTF_8));
        part(sha, key.source().getAddress());
        part(sha, key.sni().map(s -> s.getBytes(StandardCharsets.UTF_8)).orElse(new byte[0]));
        sha.update((byte) (key.sni().isPresent() ? 1 : 0));
        return PREFIX + service + ":" + Base64.getUrlEncoder().withoutPadding().encodeToString(sha.digest());
    }

    private static void part(MessageDigest sha, byte[] bytes) {
        sha.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
        sha.update(bytes);
    }

    /** The value of an entry: the answer in the http answer format, with the key it answers. */
    static String encode(DecisionKey key, Decision decision) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("v", 1);
        node.put("listener", key.listener());
        node.put("rule", key.rule());
        node.put("source", key.source().getHostAddress());
        node.put("sni", key.sni().orElse(null));
        node.put("action", decision.action() == InspectAction.ACCEPT ? "accept" : "reject");
        decision.reason().ifPresent(r -> node.put("reason", r));
        decision.route().ifPresent(r -> node.put("route", r));
        return MAPPER.writeValueAsString(node);
    }

    /**
     * An entry's value as the answer it holds, checked as a service's answer is and against the key it was read
     * under.
     *
     * @throws MalformedAnswerException saying what is wrong
     */
    static Decision decode(DecisionKey key, String value, Set<String> routes) {
        JsonNode root;
        try {
            root = MAPPER.readTree(value);
        } catch (JacksonException e) {
            throw new MalformedAnswerException("entry is not JSON");
        }
        if (root == null || !root.isObject()) {
            throw new MalformedAnswerException("entry is not a JSON object");
        }
        JsonNode version = root.get("v");
        if (version == null || !version.isInt() || version.intValue() != 1) {
            throw new MalformedAnswerException("entry has no \"v\": 1");
        }
        if (!text(root, "listener").equals(Optional.of(key.listener())) || !text(root, "rule").equals(Optional.of(key.rule()))
                || !text(root, "source").equals(Optional.of(key.source().getHostAddress()))
                || !text(root, "sni").equals(key.sni())) {
            throw new MalformedAnswerException("entry answers another key");
        }
        if (root.has("ttl")) {
            throw new MalformedAnswerException("entry carries a ttl: its TTL is the key's");
        }
        Decision decision = DecisionJson.parse(DecisionType.HTTP, value.getBytes(StandardCharsets.UTF_8));
        if (decision.route().isPresent() && !routes.contains(decision.route().get())) {
            throw new MalformedAnswerException("route '" + decision.route().get() + "' is not a pool of listener '"
                    + key.listener() + "'");
        }
        return decision;
    }

    private static Optional<String> text(JsonNode root, String field) {
        JsonNode node = root.get(field);
        return node != null && node.isString() ? Optional.of(node.stringValue()) : Optional.empty();
    }
}
