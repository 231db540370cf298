package io.portcullis.gateway.decision;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.netty.channel.EventLoopGroup;
import io.portcullis.gateway.decision.DecisionService.Resolution;
import io.portcullis.core.AbortHandler;
import io.portcullis.core.AbortReason;
import io.portcullis.core.Completion;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.Verdict;
import io.portcullis.gateway.cluster.ClusterStore;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Exceptions;

/**
 * The configured decision services and the calls in flight.
 *
 * <p>{@link #ask} starts a decision for a pended inspection (from the inspect handler, on the connection's
 * event loop, without blocking): a fresh cached answer completes it at once; otherwise the service is called
 * and its answer, or {@code on-failure} when the call fails, completes the inspection through the
 * {@link Completer}. {@link #aborted} (the listeners' abort handler: the client left, or the deadline passed)
 * cancels the call; an answer after that is dropped.
 *
 * <p>With {@code cache.scope: cluster} a local miss first reads the answers the other replicas learned, in the
 * cluster's Redis ({@link ClusterVerdicts}): a valid one completes the inspection ({@code decidedBy: cluster-cache});
 * a miss, a garbled entry or a store that fails or does not answer within its timeout asks the service, with what is
 * left of the budget. The service's answers are shared there too.
 *
 * <p>A call's time is bounded by the service's {@code timeout} per attempt and, retries included, by the
 * inspection's deadline (the rule's {@code timeout}, else the listener's {@code inspect.timeout}), less a small
 * margin so that {@code on-failure}, not the listener's {@code on-timeout}, decides a service that does not answer.
 *
 * <p>All public methods: any thread.
 */
public final class DecisionServices implements DecisionTrigger, AbortHandler, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DecisionServices.class);

    /** The deadline assumed when neither the rule nor the completer gives one. */
    static final Duration FALLBACK_DEADLINE = Duration.ofSeconds(5);
    /** Kept back from the deadline so a failing call is decided by {@code on-failure} before it. */
    static final Duration MAX_MARGIN = Duration.ofMillis(100);
    /** {@code decidedBy} of an answer another replica learned, read from the cluster's cache. */
    static final String CLUSTER_CACHE = "cluster-cache";

    private final Map<String, DecisionService> services;
    private final DecisionObserver observer;
    private final ConcurrentHashMap<InspectId, DecisionCall> inFlight = new ConcurrentHashMap<>();
    private final FailureLog unknownServices = new FailureLog(log, "Decision");
    private final FailureLog invalidEntries = new FailureLog(log, "The cluster's verdict cache");
    private volatile Completer completer = Completer.NONE;

    /**
     * @param settings   the services, by name
     * @param loops      the event loops the HTTP clients run on (the gateway's workers)
     * @param resilience where each service takes its circuit breaker, retry and bulkhead
     * @param observer   meters
     */
    public DecisionServices(Collection<DecisionServiceSettings> settings, EventLoopGroup loops,
                            ResilienceRegistries resilience, DecisionObserver observer) {
        this(settings, loops, resilience, observer, Optional.empty(), Optional.empty());
    }

    /**
     * @param settings   the services, by name
     * @param loops      the event loops the HTTP clients run on (the gateway's workers)
     * @param resilience where each service takes its circuit breaker, retry and bulkhead
     * @param observer   meters
     * @param store      the cluster's Redis, where {@code cache.scope: cluster} services share their answers
     * @param secret     the admin token, the same on every replica: it signs the shared answers
     * @throws IllegalArgumentException for a service with a cluster-scope cache and no store or no secret
     */
    public DecisionServices(Collection<DecisionServiceSettings> settings, EventLoopGroup loops,
                            ResilienceRegistries resilience, DecisionObserver observer, Optional<ClusterStore> store,
                            Optional<String> secret) {
        this.observer = Objects.requireNonNull(observer, "observer");
        Map<String, DecisionService> byName = new LinkedHashMap<>();
        try {
            for (DecisionServiceSettings s : settings) {
                if (byName.containsKey(s.name())) {
                    throw new IllegalArgumentException("decision service '" + s.name() + "' is configured twice");
                }
                DecisionService service = new DecisionService(s, loops, resilience, store, secret);
                byName.put(s.name(), service);
                observer.decisionServiceAdded(s.name());
                if (service.cluster().isPresent()) {
                    observer.clusterCacheAdded(s.name());
                }
                log.info("Decision service '{}': {} {}{} (timeout {} ms, on-failure {}, cache {})", s.name(),
                        s.type().name().toLowerCase(Locale.ROOT), s.shownUrl(), credentials(s),
                        s.timeout().toMillis(),
                        s.onFailure().name().toLowerCase(Locale.ROOT),
                        s.cache().map(c -> "ttl " + c.ttl().toMillis() + " ms, " + c.maxEntries() + " entries"
                                + (service.cluster().isPresent() ? ", shared through the cluster's Redis" : ""))
                                .orElse("off"));
            }
        } catch (RuntimeException e) {
            byName.values().forEach(DecisionService::close);
            throw e;
        }
        this.services = Collections.unmodifiableMap(byName);
        if (!byName.isEmpty()) {
            DecisionJson.warmUp();
        }
    }

    /** Which credentials are sent, by header name only. */
    private static String credentials(DecisionServiceSettings s) {
        return s.requestHeaders().isEmpty() ? "" : " with headers " + s.requestHeaders().keySet() + " (values not shown)";
    }

    /** No decision service: a pend naming one is rejected as a failure (the policy check prevents it). */
    public static DecisionServices none() {
        return new DecisionServices(List.of(), null, ResilienceRegistries.defaults(), DecisionObserver.NONE);
    }

    /** Names of the configured services. */
    public Set<String> names() {
        return services.keySet();
    }

    /** Where answers go: set once by the gateway before its listeners start. */
    public void completeThrough(Completer completer) {
        this.completer = Objects.requireNonNull(completer, "completer");
    }

    /** Calls in flight now. */
    public int inFlight() {
        return inFlight.size();
    }

    /**
     * Starts the decision of a pended inspection whose {@code verdict} names a service (called once the listener
     * holds it pended, so an answer, even a cached one given at once, finds it). Event loop; never blocks, never throws.
     */
    @Override
    public void ask(InspectRequest request, Verdict verdict) {
        Optional<String> name = verdict.decision();
        if (name.isEmpty()) {
            return;
        }
        DecisionService service = services.get(name.get());
        if (service == null) {
            String what = "decision service '" + name.get() + "' is not configured";
            unknownServices.failed(what, "rejecting");
            completer.complete(request.listener(), request.id(), InspectAction.REJECT, Completion.fallback("failure", what));
            return;
        }
        DecisionKey key = DecisionKey.of(request, verdict.rule());
        Optional<Decision> cached = service.cache().fresh(key);
        if (cached.isPresent()) {
            observer.decided(service.name(), DecisionOutcome.CACHED, -1);
            completer.complete(request.listener(), request.id(), cached.get().action(), routed(
                    Completion.by("cache", cached.get().reason().orElse(null)).withRoute(cached.get().route().orElse(null)),
                    verdict.route()));
            return;
        }
        DecisionCall call = new DecisionCall(this, service, request, key, verdict.route());
        // In the map before the subscription: an answer (or failure) may arrive before subscribe returns.
        inFlight.put(request.id(), call);
        Duration budget = budget(request, verdict);
        Optional<ClusterVerdicts> cluster = service.cluster();
        if (cluster.isEmpty()) {
            callService(call, verdict, budget);
            return;
        }
        // A local miss: the other replicas' answers next, within the store's timeout; a failure there is a miss.
        long lookupStart = System.nanoTime();
        cluster.get().lookup(key, completer.routes(request.listener())).whenComplete((lookup, error) ->
                lookedUp(call, verdict, budget.minusNanos(System.nanoTime() - lookupStart), lookup));
    }

    /** The cluster's cache answered (a store thread): serve its answer, or ask the service with what is left of the budget. */
    private void lookedUp(DecisionCall call, Verdict verdict, Duration budget, ClusterVerdicts.Lookup lookup) {
        DecisionService service = call.service;
        ClusterCacheResult result = lookup == null ? ClusterCacheResult.ERROR : lookup.result();
        try {
            observer.clusterCacheLooked(service.name(), result);
            if (result == ClusterCacheResult.INVALID) {
                invalidEntries.failed("entry for a key of rule '" + call.key.rule() + "' of listener '"
                        + call.key.listener() + "' of service '" + service.name() + "': " + lookup.problem(),
                        "treated as a miss");
            }
            if (result == ClusterCacheResult.HIT) {
                if (finish(call)) {
                    Decision decision = lookup.decision().get();
                    observer.decided(service.name(), DecisionOutcome.CACHED, -1);
                    service.cache().remember(call.key, decision);
                    complete(call, decision.action(), Completion.by(CLUSTER_CACHE, decision.reason().orElse(null))
                            .withRoute(decision.route().orElse(null)));
                }
                return;
            }
        } catch (RuntimeException e) {
            log.warn("Reading the cluster's cache for decision service '{}' failed; asking the service", service.name(), e);
        }
        // Aborted (or closed) meanwhile: nothing to ask. A cancel racing past this check disposes the call, and a
        // disposed subscriber cancels the subscription it is given.
        if (inFlight.get(call.request.id()) == call) {
            callService(call, verdict, budget.compareTo(Duration.ofMillis(1)) < 0 ? Duration.ofMillis(1) : budget);
        }
    }

    private void callService(DecisionCall call, Verdict verdict, Duration budget) {
        DecisionService service = call.service;
        call.startNanos = System.nanoTime();
        try {
            byte[] body = DecisionJson.request(service.settings().type(), call.request, verdict.rule());
            service.client().ask(body, budget).subscribe(call);
        } catch (RuntimeException e) {
            call.dispose();
            if (finish(call)) {
                failed(call, e);
            }
        }
    }

    private Duration budget(InspectRequest request, Verdict verdict) {
        Duration deadline = verdict.timeout().or(() -> completer.inspectTimeout(request.listener()))
                .orElse(FALLBACK_DEADLINE);
        Duration tenth = deadline.dividedBy(10);
        Duration margin = tenth.compareTo(MAX_MARGIN) < 0 ? tenth : MAX_MARGIN;
        Duration budget = deadline.minus(margin);
        return budget.isZero() || budget.isNegative() ? Duration.ofMillis(1) : budget;
    }

    /** The client left or the deadline passed while the call was in flight: cancel it. Event loop. */
    @Override
    public void aborted(InspectId id, AbortReason reason) {
        DecisionCall call = inFlight.remove(id);
        if (call != null) {
            call.dispose();
            observer.decisionCancelled(call.service.name());
        }
    }

    /** Takes {@code call} out of flight; true for the one caller that wins (answer, failure or abort). */
    boolean finish(DecisionCall call) {
        return inFlight.remove(call.request.id(), call);
    }

    void answered(DecisionCall call, Decision decision) {
        DecisionService service = call.service;
        Optional<String> route = decision.route();
        if (route.isPresent()) {
            Set<String> known = completer.routes(call.request.listener());
            if (!known.contains(route.get())) {
                // Not cached, not remembered for stale: an answer the gateway cannot carry out is a failure.
                failed(call, new MalformedAnswerException("route '" + route.get() + "' is not a backend pool of listener '"
                        + call.request.listener() + "' (its pools: " + String.join(", ", new java.util.TreeSet<>(known))
                        + ")"));
                return;
            }
        }
        observer.decided(service.name(), decision.action() == InspectAction.ACCEPT ? DecisionOutcome.ACCEPT
                : DecisionOutcome.REJECT, System.nanoTime() - call.startNanos);
        service.cache().remember(call.key, decision);
        service.cluster().ifPresent(cluster -> cluster.remember(call.key, decision));
        complete(call, decision.action(), Completion.by("service", decision.reason().orElse(null)).withRoute(route.orElse(null)));
    }

    void failed(DecisionCall call, Throwable error) {
        DecisionService service = call.service;
        boolean circuitOpen = Exceptions.unwrap(error) instanceof CallNotPermittedException;
        observer.decided(service.name(), circuitOpen ? DecisionOutcome.CIRCUIT_OPEN : DecisionOutcome.FAILURE,
                circuitOpen ? -1 : System.nanoTime() - call.startNanos);
        Resolution resolution = service.onFailure(call.key, DecisionService.describe(error));
        complete(call, resolution.action(), resolution.completion());
    }

    /**
     * {@code completion} going to the pend verdict's {@code route} when it names no pool itself. The listener holds
     * the route of the verdict that pended the inspection, which is the same for a pend rule asked at once; a pend
     * reached after a cluster limiter was pended by the limiter's verdict, which knew no route yet.
     */
    private static Completion routed(Completion completion, Optional<String> route) {
        return completion.route().isEmpty() && route.isPresent() ? completion.withRoute(route.get()) : completion;
    }

    private boolean complete(DecisionCall call, InspectAction action, Completion completion) {
        try {
            return completer.complete(call.request.listener(), call.request.id(), action,
                    routed(completion, call.route));
        } catch (RuntimeException e) {
            log.warn("Completing inspection {} of listener '{}' failed", call.request.id(), call.request.listener(), e);
            return false;
        }
    }

    /** Cancels the calls in flight and closes the services' connections. Not from an event loop. */
    @Override
    public void close() {
        for (DecisionCall call : inFlight.values()) {
            if (finish(call)) {
                call.dispose();
            }
        }
        services.values().forEach(DecisionService::close);
    }
}
