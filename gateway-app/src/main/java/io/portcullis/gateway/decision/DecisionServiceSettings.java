package io.portcullis.gateway.decision;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One decision service, validated ({@code portcullis.decision-services.<name>}). Circuit breaker, retry and
 * bulkhead are not here: they are Resilience4j's, under its own keys with the same name.
 *
 * @param name           the key under {@code decision-services}; what {@code decision:} in rules.yaml names, the
 *                       {@code service} tag of the meters and the Resilience4j instance name
 * @param type           the wire format
 * @param url            where requests are POSTed ({@code http} or {@code https})
 * @param timeout        one attempt: connect, send, answer
 * @param onFailure      what a failure decides
 * @param cache          answer cache; empty: no caching
 * @param maxConnections pooled connections to the service at most
 */
public record DecisionServiceSettings(
        String name,
        DecisionType type,
        URI url,
        Duration timeout,
        OnFailure onFailure,
        Optional<CacheSettings> cache,
        int maxConnections) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(300);
    public static final Duration MAX_TIMEOUT = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_CONNECTIONS = 64;

    public DecisionServiceSettings {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(onFailure, "onFailure");
        Objects.requireNonNull(cache, "cache");
        if (name.isBlank()) {
            throw new IllegalArgumentException("decision service name must not be blank");
        }
        if (!isHttpUrl(url)) {
            throw new IllegalArgumentException("decision service '" + name + "': url must be http:// or https:// "
                    + "with a host, not '" + url + "'");
        }
        if (timeout.toMillis() < 1 || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException("decision service '" + name + "': timeout must be between 1ms and 60s");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("decision service '" + name + "': max-connections must be positive");
        }
    }

    /** Whether {@code url} is an absolute {@code http}/{@code https} URL with a host. */
    public static boolean isHttpUrl(URI url) {
        if (url == null || url.getScheme() == null || url.getHost() == null || url.getHost().isBlank()) {
            return false;
        }
        String scheme = url.getScheme().toLowerCase(Locale.ROOT);
        return scheme.equals("http") || scheme.equals("https");
    }

    /**
     * The answer cache of one service.
     *
     * @param ttl        how long an answer is kept when the answer gives no {@code ttl}; zero: only answers
     *                   that give one are kept
     * @param maxEntries entries kept at most (the least recently used go first)
     */
    public record CacheSettings(Duration ttl, int maxEntries) {

        public static final Duration MAX_TTL = Duration.ofHours(24);

        public CacheSettings {
            Objects.requireNonNull(ttl, "ttl");
            if (ttl.isNegative() || ttl.compareTo(MAX_TTL) > 0) {
                throw new IllegalArgumentException("cache ttl must be between 0 and 24h");
            }
            if (maxEntries < 1) {
                throw new IllegalArgumentException("cache max-entries must be positive");
            }
        }
    }
}
