package io.portcullis.gateway.config;

import io.portcullis.gateway.decision.DecisionServiceSettings;
import io.portcullis.gateway.decision.CacheScope;
import io.portcullis.gateway.decision.DecisionServiceSettings.CacheSettings;
import io.portcullis.gateway.decision.DecisionType;
import io.portcullis.gateway.decision.OnFailure;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * One remote decision service, {@code portcullis.decision-services.<name>}. Its circuit breaker, retry and
 * bulkhead are Resilience4j's, under Resilience4j's own keys with the same name
 * ({@code resilience4j.circuitbreaker.instances.<name>.*}, {@code resilience4j.retry.instances.<name>.*},
 * {@code resilience4j.bulkhead.instances.<name>.*}).
 *
 * @param type           http | opa
 * @param url            where requests are POSTed: http:// or https:// with a host, as written (bound as text:
 *                       Spring's URI conversion would encode a {@code %} of a percent-encoded part again)
 * @param timeout        one attempt (connect, send, answer), 1ms to 60s
 * @param onFailure      accept | reject | stale (the last answer for the same key, else reject)
 * @param cache          answer cache; absent: no caching
 * @param maxConnections pooled connections to the service at most
 * @param headers        sent with every request (credentials: never shown)
 */
public record DecisionServiceProperties(
        @DefaultValue("http") DecisionType type,
        @NotNull String url,
        @DefaultValue("300ms") Duration timeout,
        @DefaultValue("reject") OnFailure onFailure,
        @Valid Cache cache,
        @Min(1) @Max(10_000) @DefaultValue("64") int maxConnections,
        Map<String, String> headers) {

    public DecisionServiceProperties {
        headers = headers == null ? Map.of() : headers;
    }

    @AssertTrue(message = "url must be an http:// or https:// URL with a host")
    public boolean isUrlValid() {
        return url == null || uri().map(DecisionServiceSettings::isHttpUrl).orElse(false);
    }

    /** The url, parsed strictly (RFC 2396, what {@link URI#URI(String)} takes); empty when it is not a URI. */
    private Optional<URI> uri() {
        try {
            return Optional.of(new URI(url.strip()));
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
    }

    /** The message names the problem; it never shows a header's value. */
    @AssertTrue(message = "headers must be header names with visible ASCII values (at most 32; not Host, "
            + "Content-Type, Content-Length, Accept or hop-by-hop ones; no unset placeholder; Authorization or a "
            + "user in the url, not both)")
    public boolean isHeadersValid() {
        return DecisionServiceSettings.headersProblem(headers, url == null ? null : uri().orElse(null)).isEmpty();
    }

    @AssertTrue(message = "timeout must be between 1ms and 60s")
    public boolean isTimeoutValid() {
        return timeout.toMillis() >= 1 && timeout.compareTo(DecisionServiceSettings.MAX_TIMEOUT) <= 0;
    }

    /** Settings, without the url's user info and header values: credentials. */
    @Override
    public String toString() {
        return "DecisionServiceProperties[type=" + type + ", url=" + Secrets.withoutUserInfo(String.valueOf(url))
                + ", timeout=" + timeout + ", onFailure=" + onFailure + ", cache=" + cache + ", maxConnections="
                + maxConnections + ", headers=" + headers.keySet() + "]";
    }

    /** The validated settings of the service called {@code name}. */
    public DecisionServiceSettings toSettings(String name) {
        return new DecisionServiceSettings(name, type, uri().orElseThrow(), timeout, onFailure,
                Optional.ofNullable(cache).map(c -> new CacheSettings(c.ttl(), c.maxEntries(), c.scope())), maxConnections,
                headers);
    }

    /**
     * The answer cache.
     *
     * @param ttl        how long an answer is kept when it gives no {@code ttl} of its own; 0: only answers
     *                   that give one are kept
     * @param maxEntries entries kept at most (in this replica)
     * @param scope      local | cluster: cluster also shares answers through the cluster's Redis, so that an
     *                   answer one replica learned is served by all within its TTL; needs
     *                   {@code portcullis.cluster.redis.url}
     */
    public record Cache(
            @DefaultValue("30s") Duration ttl,
            @Min(1) @Max(10_000_000) @DefaultValue("10000") int maxEntries,
            @NotNull @DefaultValue("local") CacheScope scope) {

        @AssertTrue(message = "ttl must be between 0 (no caching) and 24h")
        public boolean isTtlValid() {
            return !ttl.isNegative() && ttl.compareTo(CacheSettings.MAX_TTL) <= 0;
        }
    }
}
