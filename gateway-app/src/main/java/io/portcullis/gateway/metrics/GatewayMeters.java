package io.portcullis.gateway.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectionEnd;
import io.portcullis.core.ListenerObserver;
import io.portcullis.core.PeekReject;
import io.portcullis.core.PendOutcome;
import io.portcullis.core.relay.RelayObserver;
import io.portcullis.gateway.decision.ClusterCacheResult;
import io.portcullis.gateway.decision.DecisionObserver;
import io.portcullis.gateway.decision.DecisionOutcome;
import io.portcullis.gateway.policy.LiveEnforcement;
import io.portcullis.gateway.policy.PolicyInspectHandler;
import io.portcullis.gateway.policy.PolicyReloader;
import io.portcullis.policy.ShadowObserver;
import io.portcullis.policy.limit.OnStoreFailure;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The contract's {@code portcullis_*} meters. Meters of a listener are made once when it is registered,
 * so events only look up a map by listener name and bump a counter. Tags carry listener, rule, action,
 * outcome and direction: names from configuration, never client data.
 */
public final class GatewayMeters implements ListenerObserver, RelayObserver, ShadowObserver, PolicyReloader.Observer,
        PolicyInspectHandler.VerdictCounter, PolicyInspectHandler.ClusterObserver, LiveEnforcement.Observer,
        DecisionObserver, AutoCloseable {

    private static final Duration[] INSPECT_SLO = {
        Duration.ofNanos(10_000), Duration.ofNanos(50_000), Duration.ofNanos(100_000), Duration.ofNanos(500_000),
        Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(25),
    };
    private static final Duration[] PEND_SLO = {
        Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
        Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60),
    };

    private static final Duration[] DECISION_SLO = {
        Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
    };

    /** A store round trip: Redis answers in well under a millisecond, its timeout is 100 ms by default. */
    private static final Duration[] CLUSTER_LIMIT_SLO = {
        Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofMillis(2),
        Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
        Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofSeconds(1),
    };

    private final MeterRegistry registry;
    private final Map<String, ListenerMeters> listeners = new ConcurrentHashMap<>();
    private final Counter reloadSuccess;
    private final Counter reloadFailure;
    private final AuditLog audit;
    /** Keyed by configured decision service names only. */
    private final Map<String, DecisionMeters> decisionServices = new ConcurrentHashMap<>();
    /** Keyed by configured decision service names with a cluster-scope cache only. */
    private final Map<String, Counter[]> clusterCaches = new ConcurrentHashMap<>();
    /** Keyed by configured listener and backend only, so bounded by the configuration. */
    private final Map<String, AtomicInteger> backendUp = new ConcurrentHashMap<>();
    /** What each listener's drop counter reads (the meter holds this map weakly, the meters strongly). */
    private final Map<String, LongSupplier> listenDrops = new ConcurrentHashMap<>();

    /** Starts the audit log's writer; {@link #close()} drains it. */
    public GatewayMeters(MeterRegistry registry, int auditQueueSize) {
        this.registry = registry;
        audit = new AuditLog(registry, auditQueueSize);
        reloadSuccess = reloads(registry, "success");
        reloadFailure = reloads(registry, "failure");
    }

    private static Counter reloads(MeterRegistry registry, String result) {
        return Counter.builder("portcullis.policy.reloads")
                .description("Policy reloads by result; a failure keeps the running policy")
                .tag("result", result).register(registry);
    }

    @Override
    public void reloaded(boolean success) {
        (success ? reloadSuccess : reloadFailure).increment();
    }

    /**
     * {@code portcullis_limiter_key_cap_rejects_total}: connections a limiter rule rejected because their key
     * was new while it tracked its cap of keys (a flood of fresh sources, or a cap too small).
     */
    public void limiters(LimiterRegistry limiters) {
        FunctionCounter.builder("portcullis.limiter.key.cap.rejects", limiters, LimiterRegistry::refusedAtKeyCap)
                .description("Connections rejected by a limiter rule because their key was new while the limiter"
                        + " tracked its cap of keys")
                .register(registry);
    }

    /** A shadow rule would have decided: counted and logged, never in force. */
    @Override
    public void shadowVerdict(InspectRequest request, Verdict wouldBe) {
        of(request.listener()).shadow(wouldBe.rule(), wouldBe.action().label()).increment();
        audit.shadowVerdict(request, wouldBe);
    }

    /** Writes what the audit and shadow logs still hold (with a deadline). After the I/O threads have stopped. */
    @Override
    public void close() {
        audit.close();
    }

    /** Registers the meters of one listener; {@code pending} reads its pended count. */
    public void register(String listener, IntSupplier pending) {
        listeners.computeIfAbsent(listener, name -> new ListenerMeters(registry, name, pending));
    }

    private ListenerMeters of(String listener) {
        ListenerMeters m = listeners.get(listener);
        if (m == null) {
            throw new IllegalStateException("listener '" + listener + "' has no meters registered");
        }
        return m;
    }

    /** The policy's verdict for one connection. Any thread. */
    @Override
    public void verdict(String listener, String rule, InspectAction action) {
        of(listener).verdict(rule, action.label()).increment();
    }

    /**
     * {@code portcullis_cluster_limit_fallbacks_total{listener,rule,fallback}}: connections for which the cluster store
     * failed at a {@code scope: cluster} limiter and its {@code on-store-failure} decided. Any thread.
     */
    @Override
    public void clusterFallback(String listener, String rule, OnStoreFailure fallback) {
        of(listener).clusterFallback(rule, fallback.label()).increment();
    }

    /**
     * {@code portcullis_cluster_limit_seconds{listener}}: per connection that waited on the cluster store, the time
     * from its first store call to the last answer. Any thread.
     */
    @Override
    public void clusterLimitWaited(String listener, long nanos) {
        of(listener).clusterLimit().record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void connectionArrived(String listener) {
        of(listener).connections.increment();
    }

    @Override
    public void inspected(String listener, InspectAction action, long nanos) {
        of(listener).inspectDuration.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void pendEnded(String listener, PendOutcome outcome, long nanos) {
        ListenerMeters m = of(listener);
        m.pendOutcomes[outcome.ordinal()].increment();
        if (outcome != PendOutcome.OVERFLOW) {
            m.pendDuration.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void inspectionEnded(InspectionEnd end) {
        audit.inspectionEnded(end);
    }

    /**
     * {@code portcullis_listen_drops_total{listener}}: connection attempts the kernel dropped at the listening socket
     * (SYNs the early-reject filter refused, SYNs a full accept queue turned away), as {@code drops} reads them.
     * Registered again for a listener of the same name, it reads the new supplier.
     */
    public void listenDrops(String listener, LongSupplier drops) {
        listenDrops.put(listener, drops);
        FunctionCounter.builder("portcullis.listen.drops", listenDrops, m -> {
                    LongSupplier current = m.get(listener);
                    return current == null ? 0 : current.getAsLong();
                })
                .description("SYNs the kernel dropped at the listening socket: refused by the early-reject filter or "
                        + "by a full accept queue (retransmissions count each)")
                .tag("listener", listener).register(registry);
    }

    /** {@code portcullis_early_reject_ranges{listener}}: IPv4 ranges the kernel drops SYNs from, as {@code ranges} reads. */
    @Override
    public void earlyRejectRanges(String listener, IntSupplier ranges) {
        // Micrometer holds a gauge's object weakly: the supplier lives nowhere else, so hold it strongly.
        Gauge.builder("portcullis.early.reject.ranges", ranges, r -> r.getAsInt())
                .description("IPv4 source ranges the listening socket's kernel filter drops SYNs from (0: none attached)")
                .strongReference(true)
                .tag("listener", listener).register(registry);
    }

    /**
     * A live connection a recheck rejects: {@code portcullis_rechecked_closes_total{listener,rule}} when it is reset,
     * and its audit line either way. Any thread; never blocks.
     */
    @Override
    public void rechecked(io.portcullis.core.InspectRequest request, String rule, boolean reset) {
        if (reset) {
            of(request.listener()).rechecked(rule).increment();
        }
        audit.rechecked(request, rule, reset);
    }

    @Override
    public void acceptRefused(String listener) {
        of(listener).acceptRefused.increment();
    }

    @Override
    public void peekRejected(String listener, PeekReject reason) {
        of(listener).peekRejects[reason.ordinal()].increment();
    }

    @Override
    public void bytes(String listener, String direction, long n) {
        ListenerMeters m = of(listener);
        (RelayObserver.UPSTREAM.equals(direction) ? m.bytesUpstream : m.bytesDownstream).increment(n);
    }

    @Override
    public void connectionOpened(String listener) {
        of(listener).active.incrementAndGet();
    }

    @Override
    public void connectionClosed(String listener) {
        of(listener).active.decrementAndGet();
    }

    @Override
    public void backendConnectFailed(String listener, String backend) {
        // The backend tag is a configured host:port, bounded by the configuration.
        Counter.builder("portcullis.backend.failures")
                .description("Backend connection attempts that failed (refused, timed out)")
                .tags("listener", listener, "backend", backend)
                .register(registry)
                .increment();
    }

    /** Without a pool: the listener's own backends. */
    @Override
    public void backendHealth(String listener, String backend, boolean up) {
        backendHealth(listener, RelayObserver.DEFAULT_POOL, backend, up);
    }

    /**
     * {@code portcullis_backend_up{listener,pool,backend}}: 1 when the health check finds the backend up. Per pool, since
     * the same backend in two pools is checked (and may be marked) in each.
     */
    @Override
    public void backendHealth(String listener, String pool, String backend, boolean up) {
        backendUp.computeIfAbsent(listener + '\0' + pool + '\0' + backend, k -> {
            AtomicInteger state = new AtomicInteger();
            Gauge.builder("portcullis.backend.up", state, AtomicInteger::get)
                    .description("1 when the active health check finds the backend up")
                    .tags("listener", listener, "pool", pool, "backend", backend).register(registry);
            return state;
        }).set(up ? 1 : 0);
    }

    @Override
    public void allBackendsFailed(String listener) {
        of(listener).noBackend.increment();
    }

    @Override
    public void decisionServiceAdded(String service) {
        decisionMeters(service);
    }

    /** {@code portcullis_decision_requests_total} and, for calls that went out, {@code portcullis_decision_duration_seconds}. */
    @Override
    public void decided(String service, DecisionOutcome outcome, long nanos) {
        DecisionMeters m = decisionMeters(service);
        m.outcomes[outcome.ordinal()].increment();
        if (nanos >= 0) {
            m.duration.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void decisionCancelled(String service) {
        decisionMeters(service).cancelled.increment();
    }

    @Override
    public void clusterCacheAdded(String service) {
        clusterCacheMeters(service);
    }

    /** {@code portcullis_decision_cache_cluster_total{service,result}}. */
    @Override
    public void clusterCacheLooked(String service, ClusterCacheResult result) {
        clusterCacheMeters(service)[result.ordinal()].increment();
    }

    private Counter[] clusterCacheMeters(String service) {
        Counter[] m = clusterCaches.get(service);
        return m != null ? m : clusterCaches.computeIfAbsent(service, name -> {
            Counter[] counters = new Counter[ClusterCacheResult.values().length];
            for (ClusterCacheResult result : ClusterCacheResult.values()) {
                counters[result.ordinal()] = Counter.builder("portcullis.decision.cache.cluster")
                        .description("Look-ups in the cluster's verdict cache after a local miss (cache.scope: cluster), "
                                + "by result: hit (served, no call), miss, error (Redis failed or was too slow), invalid "
                                + "(an entry that is no valid answer for its key); all but hit ask the service")
                        .tags("service", name, "result", result.label()).register(registry);
            }
            return counters;
        });
    }

    private DecisionMeters decisionMeters(String service) {
        DecisionMeters m = decisionServices.get(service);
        return m != null ? m : decisionServices.computeIfAbsent(service, name -> new DecisionMeters(registry, name));
    }

    private static final class DecisionMeters {
        final Counter[] outcomes = new Counter[DecisionOutcome.values().length];
        final Timer duration;
        final Counter cancelled;

        DecisionMeters(MeterRegistry registry, String service) {
            for (DecisionOutcome outcome : DecisionOutcome.values()) {
                outcomes[outcome.ordinal()] = Counter.builder("portcullis.decision.requests")
                        .description("Decisions asked of a decision service, by outcome (cached and circuit_open made no call)")
                        .tags("service", service, "outcome", outcome.label()).register(registry);
            }
            duration = Timer.builder("portcullis.decision.duration")
                    .description("Time from asking a decision service to its answer or failure, retries included")
                    .tag("service", service).serviceLevelObjectives(DECISION_SLO).register(registry);
            cancelled = Counter.builder("portcullis.decision.cancelled")
                    .description("Decision calls cancelled in flight because the client left or the deadline passed")
                    .tag("service", service).register(registry);
        }
    }

    private static final class ListenerMeters {
        final String listener;
        final MeterRegistry registry;
        final Counter connections;
        final Timer inspectDuration;
        final Timer pendDuration;
        final Counter[] pendOutcomes = new Counter[PendOutcome.values().length];
        final Counter[] peekRejects = new Counter[PeekReject.values().length];
        final Counter acceptRefused;
        final Counter noBackend;
        final Counter bytesUpstream;
        final Counter bytesDownstream;
        final AtomicInteger active = new AtomicInteger();
        final Map<String, Map<String, Counter>> verdicts = new ConcurrentHashMap<>();
        final Map<String, Map<String, Counter>> shadows = new ConcurrentHashMap<>();
        final Map<String, Counter> rechecks = new ConcurrentHashMap<>();
        final Map<String, Map<String, Counter>> clusterFallbacks = new ConcurrentHashMap<>();
        /** Made on first use: a listener without cluster limiters shows no cluster meter. */
        private volatile Timer clusterLimit;

        ListenerMeters(MeterRegistry registry, String listener, IntSupplier pending) {
            this.listener = listener;
            this.registry = registry;
            connections = Counter.builder("portcullis.connections")
                    .description("Connections accepted by the kernel on a listener")
                    .tag("listener", listener).register(registry);
            inspectDuration = Timer.builder("portcullis.inspect.duration")
                    .description("Time the inspect handler took to answer")
                    .tag("listener", listener).serviceLevelObjectives(INSPECT_SLO).register(registry);
            pendDuration = Timer.builder("portcullis.pend.duration")
                    .description("Time a connection was held pended")
                    .tag("listener", listener).serviceLevelObjectives(PEND_SLO).register(registry);
            for (PendOutcome outcome : PendOutcome.values()) {
                pendOutcomes[outcome.ordinal()] = Counter.builder("portcullis.pended.outcomes")
                        .description("How pended inspections ended")
                        .tags("listener", listener, "outcome", outcome.label()).register(registry);
            }
            for (PeekReject reason : PeekReject.values()) {
                peekRejects[reason.ordinal()] = Counter.builder("portcullis.peek.rejects")
                        .description("Connections reset while peeking (PROXY header, TLS ClientHello), by reason")
                        .tags("listener", listener, "reason", reason.label()).register(registry);
            }
            acceptRefused = Counter.builder("portcullis.accept.refused")
                    .description("Accepted connections refused by the accept handler or expired unclaimed")
                    .tag("listener", listener).register(registry);
            noBackend = Counter.builder("portcullis.backend.unavailable")
                    .description("Accepted connections closed because no backend could be reached")
                    .tag("listener", listener).register(registry);
            bytesUpstream = bytes(registry, listener, "upstream");
            bytesDownstream = bytes(registry, listener, "downstream");
            // Micrometer holds a gauge's object weakly: the supplier lives nowhere else, so hold it strongly.
            Gauge.builder("portcullis.pending.inspections", pending, p -> p.getAsInt())
                    .description("Pended inspections held now")
                    .strongReference(true)
                    .tag("listener", listener).register(registry);
            Gauge.builder("portcullis.connections.active", active, AtomicInteger::get)
                    .description("Relayed connections open now")
                    .tag("listener", listener).register(registry);
        }

        private static Counter bytes(MeterRegistry registry, String listener, String direction) {
            return Counter.builder("portcullis.bytes")
                    .description("Bytes relayed; upstream is client to backend")
                    .baseUnit("bytes")
                    .tags("listener", listener, "direction", direction).register(registry);
        }

        Counter verdict(String rule, String action) {
            return byRule(verdicts, "portcullis.verdicts", "Policy verdicts by deciding rule", rule, action);
        }

        Counter rechecked(String rule) {
            // Keyed by names from rules.yaml only, so the map is bounded by the policy's size.
            Counter c = rechecks.get(rule);
            if (c == null) {
                c = rechecks.computeIfAbsent(rule, r -> Counter.builder("portcullis.rechecked.closes")
                        .description("Live relayed connections reset because the policy rejects them after a reload")
                        .tags("listener", listener, "rule", r).register(registry));
            }
            return c;
        }

        Timer clusterLimit() {
            Timer timer = clusterLimit;
            if (timer == null) {
                // Micrometer returns the registered timer for the same name and tags: a race makes one timer.
                timer = Timer.builder("portcullis.cluster.limit")
                        .description("Time a connection waited on the cluster store for its scope: cluster limiters,"
                                + " from the first call to the last answer")
                        .tag("listener", listener).serviceLevelObjectives(CLUSTER_LIMIT_SLO).register(registry);
                clusterLimit = timer;
            }
            return timer;
        }

        Counter clusterFallback(String rule, String fallback) {
            Map<String, Counter> byFallback = clusterFallbacks.get(rule);
            if (byFallback == null) {
                byFallback = clusterFallbacks.computeIfAbsent(rule, r -> new ConcurrentHashMap<>());
            }
            Counter c = byFallback.get(fallback);
            if (c == null) {
                c = byFallback.computeIfAbsent(fallback, f -> Counter.builder("portcullis.cluster.limit.fallbacks")
                        .description("Connections for which the cluster store failed at a scope: cluster limiter,"
                                + " decided by its on-store-failure")
                        .tags("listener", listener, "rule", rule, "fallback", f).register(registry));
            }
            return c;
        }

        Counter shadow(String rule, String action) {
            return byRule(shadows, "portcullis.shadow.verdicts",
                    "What shadow rules would have decided; never in force", rule, action);
        }

        private Counter byRule(Map<String, Map<String, Counter>> cache, String name, String description, String rule,
                               String action) {
            // By rule, then action: two lookups and no key built per connection (bench/alloc-profile.sh). Keyed by
            // names from rules.yaml only, so the maps are bounded by the policy's size.
            Map<String, Counter> byAction = cache.get(rule);
            if (byAction == null) {
                byAction = cache.computeIfAbsent(rule, r -> new ConcurrentHashMap<>());
            }
            Counter c = byAction.get(action);
            if (c == null) {
                c = byAction.computeIfAbsent(action, a -> Counter.builder(name)
                        .description(description)
                        .tags("listener", listener, "rule", rule, "action", a)
                        .register(registry));
            }
            return c;
        }
    }
}
