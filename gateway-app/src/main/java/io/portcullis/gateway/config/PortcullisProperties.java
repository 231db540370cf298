package io.portcullis.gateway.config;

import io.portcullis.core.ListenerSettings;
import io.portcullis.core.PeekSettings;
import io.portcullis.core.relay.Balance;
import io.portcullis.core.relay.HealthCheckSettings;
import io.portcullis.core.relay.RelaySettings;
import io.portcullis.gateway.GatewaySettings;
import io.portcullis.gateway.decision.CacheScope;
import io.portcullis.gateway.policy.LiveEnforcement;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The {@code portcullis.*} keys of {@code application.yml}, bound once at start and validated: an
 * unknown key or a bad value stops the start with a message naming the key. A class-level check's message
 * starts with the key it is about ({@code "connect-timeout must be ..."}): {@link ConfigurationErrors} reports
 * it under that key.
 *
 * @param rules          location of {@code rules.yaml} ({@code file:...} or {@code classpath:...}); required
 *                       when a listener inspects, except in the embedded demo
 * @param listeners      the listeners; none configured runs the embedded demo
 * @param workerThreads  I/O threads (0: one per core)
 * @param transport      auto | io_uring | epoll | nio; auto is epoll where the kernel has it, else NIO
 * @param demo           where the embedded demo listens when no listener is configured
 * @param admin          the admin API (on the port of server.port)
 * @param rulesCheckInterval how often the rules file and its list files are checked for changes
 * @param decisionServices remote decision services by name, as {@code decision:} in rules.yaml names them
 * @param shutdownGrace  on SIGTERM: how long relays may go on after the listeners stop accepting
 * @param audit          the audit and shadow logs' hand-off to their writer thread
 * @param cluster        replicas sharing limits, verdicts and pending lists through Redis; off without a url
 */
@Validated
@ConfigurationProperties(prefix = "portcullis", ignoreUnknownFields = false)
public record PortcullisProperties(
        String rules,
        @Valid @DefaultValue List<ListenerProperties> listeners,
        @Min(0) @Max(1024) @DefaultValue("0") int workerThreads,
        @NotNull @Pattern(regexp = "auto|io_uring|epoll|nio", message = "must be auto, io_uring, epoll or nio")
        @DefaultValue("auto") String transport,
        @Valid @DefaultValue Demo demo,
        @Valid @DefaultValue Admin admin,
        @DefaultValue("500ms") Duration rulesCheckInterval,
        @Valid @DefaultValue Map<String, DecisionServiceProperties> decisionServices,
        @DefaultValue("20s") Duration shutdownGrace,
        @Valid @DefaultValue Audit audit,
        @Valid @DefaultValue Cluster cluster) {

    @AssertTrue(message = "shutdown-grace must be between 0 and 10m")
    public boolean isShutdownGraceValid() {
        return !shutdownGrace.isNegative() && shutdownGrace.compareTo(Duration.ofMinutes(10)) <= 0;
    }

    @AssertTrue(message = "rules-check-interval must be between 50ms and 1m")
    public boolean isRulesCheckIntervalValid() {
        return rulesCheckInterval.toMillis() >= 50 && rulesCheckInterval.compareTo(Duration.ofMinutes(1)) <= 0;
    }

    @AssertTrue(message = "decision-services has a cache with scope: cluster, which shares answers through the "
            + "cluster's Redis, but portcullis.cluster.redis.url is not set: set it, or make the cache scope: local")
    public boolean isClusterCacheBacked() {
        return cluster.enabled() || decisionServices.values().stream()
                .noneMatch(d -> d.cache() != null && d.cache().scope() == CacheScope.CLUSTER);
    }

    @AssertTrue(message = "decision-services has a cache with scope: cluster, but portcullis.admin.token is not set: "
            + "the shared answers are signed with a key derived from it, so that whoever can write to the cluster's "
            + "Redis cannot plant one; set it (the same on every replica), or make the cache scope: local")
    public boolean isClusterCacheSigned() {
        return admin.tokenValue().isPresent() || decisionServices.values().stream()
                .noneMatch(d -> d.cache() != null && d.cache().scope() == CacheScope.CLUSTER);
    }

    /** The plain settings the gateway runs with: the listeners, or the demo when there are none. */
    public GatewaySettings toGatewaySettings() {
        return new GatewaySettings(listeners.stream().map(ListenerProperties::toPlan).toList(),
                new GatewaySettings.Demo(demo.bind().toSocketAddress(), demo.echoBind().toSocketAddress()));
    }

    /** The policy location, when set. */
    public Optional<String> rulesLocation() {
        return Optional.ofNullable(rules).filter(r -> !r.isBlank());
    }

    @AssertTrue(message = "listeners must have unique names")
    public boolean isListenerNamesUnique() {
        Set<String> seen = new HashSet<>();
        return listeners.stream().allMatch(l -> l.name() == null || seen.add(l.name()));
    }

    @AssertTrue(message = "rules must be set when a listener has conditional-accept: true")
    public boolean isRulesSetWhenNeeded() {
        return rulesLocation().isPresent() || listeners.stream().noneMatch(ListenerProperties::conditionalAccept);
    }

    /**
     * One listener.
     *
     * @param name              used in rules.yaml, meters and logs
     * @param bind              address:port to listen on
     * @param conditionalAccept false: accept at once, never inspect
     * @param backends          where accepted connections are relayed
     * @param balance           round-robin | least-connections | source-hash
     * @param connectTimeout    per backend attempt; then the next backend is tried
     * @param idleTimeout       a relay with no traffic either way for this long is closed
     * @param inspect           pended inspections
     * @param healthCheck       active TCP health check of the backends
     * @param proxyProtocol     PROXY-protocol headers: read from trusted balancers, sent to the backends
     * @param peek              the TLS ClientHello read before inspection
     * @param pools             named backend pools besides {@code backends} (the pool called {@value #DEFAULT_POOL}),
     *                          chosen by a rule's or a decision's {@code route}
     * @param earlyReject       kernel: the leading source-only reject rules also drop SYNs in the kernel; off
     * @param recheckOnReload   off | close | log: live relays judged again after each reload
     */
    public record ListenerProperties(
            @NotNull @Pattern(regexp = "[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?",
                    message = "must be 1-63 lower-case letters, digits, '-' or '_'") String name,
            @NotNull HostAndPort bind,
            @DefaultValue("true") boolean conditionalAccept,
            @NotNull @jakarta.validation.constraints.Size(min = 1, message = "must name at least one backend")
            List<HostAndPort> backends,
            @DefaultValue("round-robin") Balance balance,
            @DefaultValue("2s") Duration connectTimeout,
            @DefaultValue("1h") Duration idleTimeout,
            @Valid @DefaultValue Inspect inspect,
            @Valid @DefaultValue HealthCheck healthCheck,
            @Valid @DefaultValue ProxyProtocol proxyProtocol,
            @Valid @DefaultValue Peek peek,
            @Valid @DefaultValue Map<String, Pool> pools,
            @NotNull @DefaultValue("off") EarlyRejectMode earlyReject,
            @NotNull @DefaultValue("off") LiveEnforcement.RecheckMode recheckOnReload) {

        /** The name a route gives the listener's own {@code backends}; no named pool may take it. */
        public static final String DEFAULT_POOL = io.portcullis.core.relay.RelayObserver.DEFAULT_POOL;
        private static final java.util.regex.Pattern POOL_NAME =
                java.util.regex.Pattern.compile(io.portcullis.policy.rule.Rule.ROUTE_PATTERN);

        // Bean Validation's message cannot name the key at fault: the message says what a name must be.
        @AssertTrue(message = "pools must be named with 1-63 lower-case letters, digits and '-', starting with a letter"
                + " or digit (as a rule's route names them); 'default' is taken by the listener's own backends")
        public boolean isPoolNamesValid() {
            return pools.keySet().stream().allMatch(n -> POOL_NAME.matcher(n).matches() && !DEFAULT_POOL.equals(n));
        }

        /** The names a route may use on this listener: {@value #DEFAULT_POOL} and the named pools. */
        public Set<String> routes() {
            Set<String> names = new java.util.TreeSet<>(pools.keySet());
            names.add(DEFAULT_POOL);
            return names;
        }

        @AssertTrue(message = "early-reject: kernel needs conditional-accept: true and proxy-protocol.accept: off: the"
                + " kernel sees the TCP peer, which behind a PROXY header is the balancer, not the client")
        public boolean isEarlyRejectPossible() {
            return earlyReject == EarlyRejectMode.OFF
                    || conditionalAccept && proxyProtocol.accept() == PeekSettings.ProxyProtocol.OFF;
        }

        @AssertTrue(message = "recheck-on-reload needs conditional-accept: true: only inspected connections have rules"
                + " to judge them")
        public boolean isRecheckPossible() {
            return recheckOnReload == LiveEnforcement.RecheckMode.OFF || conditionalAccept;
        }

        @AssertTrue(message = "connect-timeout must be between 1ms and 5m")
        public boolean isConnectTimeoutValid() {
            return connectTimeout.toMillis() >= 1 && connectTimeout.compareTo(Duration.ofMinutes(5)) <= 0;
        }

        @AssertTrue(message = "idle-timeout must be positive")
        public boolean isIdleTimeoutValid() {
            return idleTimeout.toMillis() >= 1;
        }

        /** Whether the listener reads the TLS ClientHello before it inspects, so that rules may match on it. */
        public boolean peeksTls() {
            return peek.tls();
        }

        /** Whether the listener reads PROXY-protocol headers, so that rules may match on their TLVs. */
        public boolean readsProxyHeader() {
            return proxyProtocol.accept() != PeekSettings.ProxyProtocol.OFF;
        }

        /** What is read before inspection, as the core takes it. */
        public PeekSettings peekSettings() {
            return new PeekSettings(proxyProtocol.accept(), proxyProtocol.trusted(), proxyProtocol.onLocal(),
                    peek.tls(), peek.onNotTls(), peek.timeout(), peek.maxBytes());
        }

        /** The plain settings the gateway runs this listener with. */
        public GatewaySettings.ListenerPlan toPlan() {
            ListenerSettings settings = new ListenerSettings(name, bind.toSocketAddress(), conditionalAccept,
                    inspect.timeout(), inspect.onTimeout().toInspectAction(), inspect.maxPending(),
                    inspect.onOverflow().toInspectAction(), inspect.holdBytes(), ListenerSettings.DEFAULT_ACCEPT_BACKLOG,
                    peekSettings());
            Map<String, GatewaySettings.PoolPlan> named = new java.util.TreeMap<>();
            pools.forEach((poolName, pool) -> named.put(poolName, pool.toPlan()));
            return new GatewaySettings.ListenerPlan(settings, backends.stream().map(HostAndPort::toSocketAddress).toList(),
                    balance, new RelaySettings(connectTimeout, idleTimeout, proxyProtocol.send()), healthCheck.toSettings(),
                    named, earlyReject == EarlyRejectMode.KERNEL, recheckOnReload);
        }
    }

    /** Whether a listener's leading source-only reject rules are also enforced in the kernel, before the handshake. */
    public enum EarlyRejectMode {
        /** A socket filter on the listening socket drops the SYNs of those sources. */
        KERNEL,
        /** Only the rules, after the handshake. */
        OFF
    }

    /**
     * PROXY-protocol headers of one listener.
     *
     * @param accept  off | optional | required: whether a header is read first
     * @param trusted addresses or CIDRs of the balancers allowed to send one; required unless accept is off
     * @param send    off | v1 | v2: the header written to the backend, naming the client
     * @param onLocal relay | close: a balancer's own v2 LOCAL connection (its health check)
     */
    public record ProxyProtocol(
            @NotNull @DefaultValue("off") PeekSettings.ProxyProtocol accept,
            @NotNull @DefaultValue List<String> trusted,
            @NotNull @DefaultValue("off") RelaySettings.SendProxy send,
            @NotNull @DefaultValue("relay") PeekSettings.OnLocal onLocal) {

        @AssertTrue(message = "trusted must name the load balancers allowed to send a header (IP addresses or CIDRs)"
                + " when accept is optional or required")
        public boolean isTrustedSetWhenNeeded() {
            return accept == null || accept == PeekSettings.ProxyProtocol.OFF || !trusted.isEmpty();
        }

        @AssertTrue(message = "trusted entries must be IP addresses or CIDRs (a.b.c.d/n, x::y/n; no host names)")
        public boolean isTrustedValid() {
            try {
                new PeekSettings(PeekSettings.ProxyProtocol.OPTIONAL, trusted.isEmpty() ? List.of("127.0.0.1") : trusted,
                        PeekSettings.OnLocal.RELAY, false, PeekSettings.OnNotTls.REJECT, PeekSettings.DEFAULT_TIMEOUT,
                        PeekSettings.DEFAULT_MAX_BYTES);
                return true;
            } catch (IllegalArgumentException | NullPointerException e) {
                return false;
            }
        }
    }

    /**
     * What a listener reads of the client's first bytes before it inspects.
     *
     * @param tls      read the TLS ClientHello (SNI, ALPN, versions, JA4) and replay it unchanged to the backend
     * @param timeout  the PROXY header and ClientHello must be read by then, or the connection is reset
     * @param maxBytes bytes read at most while peeking; past it, reset
     * @param onNotTls reject | continue: a client that does not start with a ClientHello (continue: no SNI)
     */
    public record Peek(
            @DefaultValue("false") boolean tls,
            @NotNull @DefaultValue("2s") Duration timeout,
            @Min(PeekSettings.MIN_MAX_BYTES) @Max(PeekSettings.MAX_MAX_BYTES) @DefaultValue("16384") int maxBytes,
            @NotNull @DefaultValue("reject") PeekSettings.OnNotTls onNotTls) {

        @AssertTrue(message = "timeout must be between 1ms and 1m")
        public boolean isTimeoutValid() {
            return timeout == null || (timeout.toMillis() >= 1 && timeout.compareTo(Duration.ofMinutes(1)) <= 0);
        }
    }

    /**
     * A named backend pool of a listener: the same keys as the listener's own backends, with the same defaults
     * (not the listener's values).
     *
     * @param backends    where connections routed to this pool are relayed
     * @param balance     round-robin | least-connections | source-hash
     * @param healthCheck active TCP health check of these backends
     */
    public record Pool(
            @NotNull @jakarta.validation.constraints.Size(min = 1, message = "must name at least one backend")
            List<HostAndPort> backends,
            @DefaultValue("round-robin") Balance balance,
            @Valid @DefaultValue HealthCheck healthCheck) {

        GatewaySettings.PoolPlan toPlan() {
            return new GatewaySettings.PoolPlan(backends.stream().map(HostAndPort::toSocketAddress).toList(), balance,
                    healthCheck.toSettings());
        }
    }

    /**
     * Active health check of a listener's backends: a TCP connect each {@code interval}; {@code fall}
     * failures in a row mark a backend down (skipped while another is up), {@code rise} successes up again.
     */
    public record HealthCheck(
            @DefaultValue("true") boolean enabled,
            @DefaultValue("5s") Duration interval,
            @DefaultValue("1s") Duration timeout,
            @Min(1) @Max(100) @DefaultValue("2") int rise,
            @Min(1) @Max(100) @DefaultValue("3") int fall) {

        @AssertTrue(message = "interval must be at least 100ms and timeout between 1ms and the interval")
        public boolean isTimingValid() {
            return interval.toMillis() >= 100 && timeout.toMillis() >= 1 && timeout.compareTo(interval) <= 0;
        }

        public HealthCheckSettings toSettings() {
            return new HealthCheckSettings(enabled, interval, timeout, rise, fall);
        }
    }

    /**
     * Pended inspections of one listener.
     *
     * @param timeout    deadline of a pended inspection
     * @param onTimeout  accept | reject, when the deadline passes
     * @param maxPending pended connections held at once
     * @param onOverflow accept | reject, for a pend past max-pending
     * @param holdBytes  client bytes kept while pended; reading pauses past it
     */
    public record Inspect(
            @DefaultValue("5s") Duration timeout,
            @DefaultValue("reject") FinalAction onTimeout,
            @Min(0) @Max(10_000_000) @DefaultValue("10000") int maxPending,
            @DefaultValue("reject") FinalAction onOverflow,
            @Min(0) @Max(1 << 20) @DefaultValue("16384") int holdBytes) {

        @AssertTrue(message = "timeout must be between 1ms and 24h")
        public boolean isTimeoutValid() {
            return timeout.toMillis() >= 1 && timeout.compareTo(Duration.ofHours(24)) <= 0;
        }
    }

    /**
     * The admin API ({@code /admin/**} on the port of {@code server.port}).
     *
     * @param token bearer token the API requires; empty or absent turns the admin API off (404). Surrounding
     *              whitespace (the line break a secret file ends with) is not part of it. Refused at start: fewer
     *              than {@value #MIN_TOKEN_LENGTH} characters, anything but visible ASCII, and a placeholder left
     *              as text because its variable is unset
     */
    public record Admin(String token) {

        public static final int MIN_TOKEN_LENGTH = 16;

        /** The token that {@code raw} gives: stripped, empty when there is none. */
        public static Optional<String> tokenOf(String raw) {
            return Optional.ofNullable(raw).map(String::strip).filter(t -> !t.isEmpty());
        }

        public Optional<String> tokenValue() {
            return tokenOf(token);
        }

        // The messages never show the token. Bean Validation reads '${' and '{' in a message: escaped.
        @AssertTrue(message = "portcullis.admin.token still holds '\\$\\{': the variable of a placeholder is unset; "
                + "write \\$\\{PORTCULLIS_ADMIN_TOKEN:\\} (with the colon) so that an unset variable turns the admin API off")
        public boolean isTokenResolved() {
            return tokenValue().map(t -> !t.contains("${")).orElse(true);
        }

        @AssertTrue(message = "portcullis.admin.token is too short: it must have at least " + MIN_TOKEN_LENGTH
                + " characters (or be empty: admin API off)")
        public boolean isTokenLongEnough() {
            return tokenValue().map(t -> t.contains("${") || t.length() >= MIN_TOKEN_LENGTH).orElse(true);
        }

        @AssertTrue(message = "portcullis.admin.token must be visible ASCII characters only (no spaces, control "
                + "or non-ASCII characters): an HTTP header carries it")
        public boolean isTokenPrintable() {
            return tokenValue().map(t -> t.chars().allMatch(c -> c > 0x20 && c < 0x7f)).orElse(true);
        }

        @Override
        public String toString() {
            return "Admin[token=" + (tokenValue().isPresent() ? "(set)" : "(none)") + "]";
        }
    }

    /**
     * The audit and shadow logs: the I/O threads queue lines for one writer thread.
     *
     * @param queueSize lines that may wait for the writer (rounded up to a power of two); past it they are
     *                  dropped and counted in {@code portcullis_audit_dropped_total}
     */
    public record Audit(
            @Min(16) @Max(1_048_576) @DefaultValue("65536") int queueSize) {
    }

    /**
     * The embedded demo, run when no listener is configured: a listener in front of a built-in echo server.
     *
     * @param bind     the demo listener
     * @param echoBind the built-in echo backend
     */
    public record Demo(
            @DefaultValue("127.0.0.1:7000") HostAndPort bind,
            @DefaultValue("127.0.0.1:7001") HostAndPort echoBind) {
    }

    /**
     * Several replicas sharing state through one Redis: cluster-scope limiters, a shared verdict cache, one pending
     * list for the admin API. Off (every replica on its own) while {@code redis.url} is not set.
     *
     * @param redis     the Redis every replica uses
     * @param replicaId this replica's name among the others (admin API, pending lists); default: the host name and
     *                  process id
     */
    public record Cluster(
            @Valid @DefaultValue Redis redis,
            @Pattern(regexp = "[A-Za-z0-9._:-]{1,128}", message = "must be 1 to 128 letters, digits, '.', '_', ':' or '-'")
            String replicaId) {

        /** Whether replicas share state: a Redis url is set. */
        public boolean enabled() {
            return redis.url() != null && !redis.url().isBlank();
        }
    }

    /**
     * The Redis of a cluster (Lettuce). TLS with {@code rediss://}, a password with {@code redis://:PASSWORD@host},
     * Sentinel with {@code redis-sentinel://}; write a secret as {@code ${REDIS_PASSWORD}} to take it from the
     * environment.
     *
     * @param url      where Redis is; empty: no cluster
     * @param timeout  a command not answered within this fails, and the limiter's {@code on-store-failure} decides
     * @param pool     connections and commands in flight
     * @param leaseTtl a {@code concurrency-limit} lease not renewed for this long is gone (a replica that died
     *                 without releasing its leases); renewed every third of it while the connection lives
     */
    public record Redis(
            String url,
            @DefaultValue("100ms") Duration timeout,
            @Valid @DefaultValue RedisPool pool,
            @DefaultValue("15s") Duration leaseTtl) {

        // Spring leaves a placeholder whose variable is unset as it is: the password would be the text "${...}".
        // The start error shows the url without its user info. Bean Validation reads '${' in a message: escaped.
        @AssertTrue(message = "url still holds '\\$\\{': the variable of a placeholder is unset")
        public boolean isUrlResolved() {
            return url == null || !url.contains("${");
        }

        @AssertTrue(message = "url must be a redis://, rediss:// or redis-sentinel:// address")
        public boolean isUrlValid() {
            if (url == null || url.isBlank() || url.contains("${")) {
                return true;
            }
            try {
                io.lettuce.core.RedisURI.create(url);
                return url.startsWith("redis://") || url.startsWith("rediss://") || url.startsWith("redis-sentinel://");
            } catch (RuntimeException e) {
                return false;
            }
        }

        @AssertTrue(message = "timeout must be between 1ms and 10s")
        public boolean isTimeoutValid() {
            return timeout.toMillis() >= 1 && timeout.compareTo(Duration.ofSeconds(10)) <= 0;
        }

        @AssertTrue(message = "lease-ttl must be between 1s and 10m")
        public boolean isLeaseTtlValid() {
            return leaseTtl.compareTo(Duration.ofSeconds(1)) >= 0 && leaseTtl.compareTo(Duration.ofMinutes(10)) <= 0;
        }

        @Override
        public String toString() {
            return "Redis[url=" + (url == null ? null : Secrets.withoutUserInfo(url)) + ", timeout=" + timeout
                    + ", pool=" + pool + ", leaseTtl=" + leaseTtl + "]";
        }
    }

    /**
     * @param connections Redis connections, each multiplexing many commands
     * @param maxInFlight commands sent and not yet answered, at most; past it a command fails at once (counted,
     *                    {@code on-store-failure} decides), so a slow Redis cannot pile up memory
     */
    public record RedisPool(
            @Min(1) @Max(64) @DefaultValue("2") int connections,
            @Min(1) @Max(1_000_000) @DefaultValue("10000") int maxInFlight) {
    }
}
