package io.portcullis.gateway.decision;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One decision service, validated ({@code portcullis.decision-services.<name>}). Circuit breaker, retry and
 * bulkhead are not here: they are Resilience4j's, under its own keys with the same name.
 *
 * @param name           the key under {@code decision-services}; what {@code decision:} in rules.yaml names, the
 *                       {@code service} tag of the meters and the Resilience4j instance name
 * @param type           the wire format
 * @param url            where requests are POSTed ({@code http} or {@code https}); a {@code user:password@} in
 *                       it is sent as HTTP basic authentication, not as part of the address
 * @param timeout        one attempt: connect, send, answer
 * @param onFailure      what a failure decides
 * @param cache          answer cache; empty: no caching
 * @param maxConnections pooled connections to the service at most
 * @param headers        sent with every request (an {@code Authorization} or API key header); values are
 *                       credentials: never logged or shown
 */
public record DecisionServiceSettings(
        String name,
        DecisionType type,
        URI url,
        Duration timeout,
        OnFailure onFailure,
        Optional<CacheSettings> cache,
        int maxConnections,
        Map<String, String> headers) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(300);
    public static final Duration MAX_TIMEOUT = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_CONNECTIONS = 64;
    public static final int MAX_HEADERS = 32;
    public static final int MAX_HEADER_VALUE = 8192;

    /** RFC 9110 token: what a header name may be. */
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    /** Set by the client itself: a configured one would contradict the request. */
    private static final Set<String> RESERVED = Set.of("host", "content-type", "content-length", "transfer-encoding",
            "connection", "accept", "te", "upgrade", "keep-alive", "trailer", "expect");

    /** Settings without extra headers. */
    public DecisionServiceSettings(String name, DecisionType type, URI url, Duration timeout, OnFailure onFailure,
                                   Optional<CacheSettings> cache, int maxConnections) {
        this(name, type, url, timeout, onFailure, cache, maxConnections, Map.of());
    }

    public DecisionServiceSettings {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(onFailure, "onFailure");
        Objects.requireNonNull(cache, "cache");
        headers = Map.copyOf(Objects.requireNonNull(headers, "headers"));
        if (name.isBlank()) {
            throw new IllegalArgumentException("decision service name must not be blank");
        }
        if (!isHttpUrl(url)) {
            throw new IllegalArgumentException("decision service '" + name + "': url must be http:// or https:// "
                    + "with a host");
        }
        Optional<String> headerProblem = headersProblem(headers, url);
        if (headerProblem.isPresent()) {
            throw new IllegalArgumentException("decision service '" + name + "': " + headerProblem.get());
        }
        if (timeout.toMillis() < 1 || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException("decision service '" + name + "': timeout must be between 1ms and 60s");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("decision service '" + name + "': max-connections must be positive");
        }
    }

    /** Where requests go: {@link #url()} without its user info. */
    public URI endpoint() {
        if (url.getRawUserInfo() == null) {
            return url;
        }
        // getHost keeps an IPv6 literal's brackets; the raw path and query stay as written
        return URI.create(url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort())
                + (url.getRawPath() == null ? "" : url.getRawPath())
                + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery()));
    }

    /** The URL as logs and errors show it: without user info or query, which may carry credentials. */
    public String shownUrl() {
        return url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort())
                + (url.getRawPath() == null ? "" : url.getRawPath());
    }

    /** The headers sent with every request: {@link #headers()}, and basic authentication from the URL's user info. */
    public Map<String, String> requestHeaders() {
        if (url.getRawUserInfo() == null) {
            return headers;
        }
        Map<String, String> all = new LinkedHashMap<>(headers);
        all.put("Authorization", "Basic " + Base64.getEncoder()
                .encodeToString(url.getUserInfo().getBytes(StandardCharsets.UTF_8)));
        return all;
    }

    /**
     * Why {@code headers} cannot be sent to {@code url}, in words that never show a value; empty when they can.
     */
    public static Optional<String> headersProblem(Map<String, String> headers, URI url) {
        if (headers.size() > MAX_HEADERS) {
            return Optional.of("headers: at most " + MAX_HEADERS);
        }
        for (Map.Entry<String, String> h : headers.entrySet()) {
            String key = h.getKey();
            String value = h.getValue() == null ? "" : h.getValue();
            if (!TOKEN.matcher(key).matches()) {
                return Optional.of("headers: '" + shown(key) + "' is not a header name");
            }
            if (RESERVED.contains(key.toLowerCase(Locale.ROOT))) {
                return Optional.of("headers: " + key + " is set by the gateway itself");
            }
            if (value.isBlank() || value.length() > MAX_HEADER_VALUE
                    || !value.chars().allMatch(c -> c == '\t' || c >= 0x20 && c < 0x7f)) {
                return Optional.of("headers: the value of " + key + " must be 1 to " + MAX_HEADER_VALUE
                        + " visible ASCII characters (no line breaks); not shown");
            }
            if (value.contains("${")) {
                return Optional.of("headers: the value of " + key + " still holds '${': the variable of a "
                        + "placeholder is unset (use ${NAME:} to allow an empty one); not shown");
            }
            if (key.equalsIgnoreCase("authorization") && url != null && url.getRawUserInfo() != null) {
                return Optional.of("headers: Authorization and a user in the url, not both");
            }
        }
        return Optional.empty();
    }

    /** A header name as an error may show it: printable, bounded. */
    private static String shown(String key) {
        String printable = key.codePoints().map(c -> c >= 0x20 && c < 0x7f ? c : '?')
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return printable.length() > 64 ? printable.substring(0, 64) + "..." : printable;
    }

    /** Names and settings; neither the URL's user info nor header values. */
    @Override
    public String toString() {
        return "DecisionServiceSettings[name=" + name + ", type=" + type + ", url=" + shownUrl() + ", timeout="
                + timeout + ", onFailure=" + onFailure + ", cache=" + cache + ", maxConnections=" + maxConnections
                + ", headers=" + headers.keySet() + (url.getRawUserInfo() == null ? "" : ", basic auth") + "]";
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
     * @param maxEntries entries kept at most in this replica (the least recently used go first)
     * @param scope      local, or also shared with the other replicas through the cluster's Redis
     */
    public record CacheSettings(Duration ttl, int maxEntries, CacheScope scope) {

        public static final Duration MAX_TTL = Duration.ofHours(24);

        /** A cache of this replica only. */
        public CacheSettings(Duration ttl, int maxEntries) {
            this(ttl, maxEntries, CacheScope.LOCAL);
        }

        public CacheSettings {
            Objects.requireNonNull(ttl, "ttl");
            Objects.requireNonNull(scope, "scope");
            if (ttl.isNegative() || ttl.compareTo(MAX_TTL) > 0) {
                throw new IllegalArgumentException("cache ttl must be between 0 and 24h");
            }
            if (maxEntries < 1) {
                throw new IllegalArgumentException("cache max-entries must be positive");
            }
        }
    }
}
