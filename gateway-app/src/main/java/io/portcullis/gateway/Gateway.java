package io.portcullis.gateway;

import io.portcullis.core.Completion;
import io.portcullis.core.EventLoops;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectHandler;
import io.portcullis.core.InspectId;
import io.portcullis.core.Listener;
import io.portcullis.core.demo.EchoServer;
import io.portcullis.core.relay.BackendHealthChecker;
import io.portcullis.core.relay.BackendPool;
import io.portcullis.core.relay.RelayAcceptHandler;
import io.portcullis.core.relay.RelayObserver;
import io.portcullis.gateway.GatewaySettings.ListenerPlan;
import io.portcullis.gateway.decision.Completer;
import io.portcullis.gateway.decision.DecisionServices;
import io.portcullis.gateway.metrics.GatewayMeters;
import io.portcullis.gateway.policy.LiveEnforcement;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway: its listeners, each relaying to its backend pool, and in demo mode the built-in
 * echo backend. Started and stopped by the application context; all public methods are for any thread
 * but an event loop.
 */
public final class Gateway implements AutoCloseable, Completer {

    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final GatewaySettings settings;
    private final EventLoops loops;
    private final InspectHandler inspectHandler;
    private final GatewayMeters meters;
    private final List<Listener> listeners = new ArrayList<>();
    /** The listeners by name, for completions from decision services (any thread). */
    private final Map<String, Listener> byName = new ConcurrentHashMap<>();
    private final DecisionServices decisions;
    private final List<BackendHealthChecker> healthCheckers = new ArrayList<>();
    /** Every pool of every listener, the default ones included, for relay counts. */
    private final List<BackendPool> allPools = new ArrayList<>();
    /** Every listener's relay handler, to reset the relays still open when the shutdown grace is over. */
    private final List<RelayAcceptHandler> relayHandlers = new ArrayList<>();
    /** Each listener's pools by name, the default one first, for readiness. */
    private final Map<String, Map<String, BackendPool>> poolsByListener = new LinkedHashMap<>();
    /** The names a route may use, by listener: "default" and the named pools. Any thread. */
    private final Map<String, Set<String>> routes = new ConcurrentHashMap<>();
    private final LiveEnforcement enforcement;
    /** Each listener's relay handler by listener name, for the enforcement. */
    private final Map<String, RelayAcceptHandler> relayByListener = new LinkedHashMap<>();
    private volatile boolean started;
    private EchoServer echo;

    public Gateway(GatewaySettings settings, EventLoops loops, InspectHandler inspectHandler, GatewayMeters meters) {
        this(settings, loops, inspectHandler, meters, DecisionServices.none());
    }

    /**
     * @param decisions the decision services: they complete pended inspections through this gateway and are
     *                  told when a pended client leaves (each listener's abort handler)
     */
    public Gateway(GatewaySettings settings, EventLoops loops, InspectHandler inspectHandler, GatewayMeters meters,
                   DecisionServices decisions) {
        this(settings, loops, inspectHandler, meters, decisions, null);
    }

    /**
     * @param decisions   the decision services: they complete pended inspections through this gateway and are
     *                    told when a pended client leaves (each listener's abort handler)
     * @param enforcement early reject and recheck; every listener with rules is given to it; null: none
     */
    public Gateway(GatewaySettings settings, EventLoops loops, InspectHandler inspectHandler, GatewayMeters meters,
                   DecisionServices decisions, LiveEnforcement enforcement) {
        this.enforcement = enforcement;
        this.decisions = decisions;
        this.settings = settings;
        this.loops = loops;
        this.inspectHandler = inspectHandler;
        this.meters = meters;
    }

    /** True when no listener is configured and the embedded demo runs instead. */
    public boolean isDemo() {
        return settings.listeners().isEmpty();
    }

    /** Binds every listener; when one cannot bind, the others are closed again and the start fails. */
    public synchronized void start() {
        try {
            List<ListenerPlan> plan = settings.listeners();
            if (isDemo()) {
                echo = new EchoServer(loops, settings.demo().echoBind()).start();
                InetSocketAddress echoAddress = echo.localAddress();
                plan = List.of(settings.demo().plan(echoAddress));
                log.warn("No listener configured: running the embedded demo. Listener 'demo' on {} relays to the "
                        + "built-in echo server on {}; rules from the demo policy (127.0.0.1 accepted, "
                        + "127.0.0.2 rejected, 127.0.0.3 pended).", settings.demo().bind(), echoAddress);
            }
            decisions.completeThrough(this);
            for (ListenerPlan p : plan) {
                Listener listener = build(p);
                byName.put(p.name(), listener);
                listeners.add(listener.start());
                if (listener.kernelDrops().isPresent()) {
                    // The last count read stays once the socket is closed: a counter does not go back.
                    AtomicLong drops = new AtomicLong();
                    meters.listenDrops(p.name(), () -> {
                        listener.kernelDrops().ifPresent(drops::set);
                        return drops.get();
                    });
                }
                // Every listener with rules: POST /admin/rules/recheck reaches it whatever its own keys say.
                if (enforcement != null && p.listener().conditionalAccept()) {
                    enforcement.add(listener, relayByListener.get(p.name()), p.earlyReject(), p.recheckOnReload());
                }
            }
            started = true;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private Listener build(ListenerPlan p) {
        BackendPool pool = new BackendPool(p.backends(), p.balance());
        Map<String, BackendPool> named = new LinkedHashMap<>();
        named.put(RelayObserver.DEFAULT_POOL, pool);
        p.pools().forEach((name, plan) -> named.put(name, new BackendPool(plan.backends(), plan.balance())));
        RelayAcceptHandler relay = new RelayAcceptHandler(p.name(), pool, named, p.relay(), loops, meters);
        healthCheckers.add(new BackendHealthChecker(relay, p.healthCheck(), loops.workers().next()).start());
        p.pools().forEach((name, plan) -> healthCheckers.add(
                new BackendHealthChecker(relay, named.get(name), name, plan.healthCheck(), loops.workers().next()).start()));
        poolsByListener.put(p.name(), Collections.unmodifiableMap(named));
        allPools.addAll(named.values());
        relayHandlers.add(relay);
        relayByListener.put(p.name(), relay);
        routes.put(p.name(), Collections.unmodifiableSet(new TreeSet<>(named.keySet())));
        Listener listener = Listener.builder(p.name())
                .settings(p.listener())
                .eventLoops(loops)
                .inspectHandler(inspectHandler)
                .abortHandler(decisions)
                .acceptHandler(relay)
                .observer(meters)
                .build();
        meters.register(p.name(), listener::pendingCount);
        return listener;
    }

    /**
     * One listener's readiness: bound, and how many of its backends the health check finds up, over all its pools
     * and by pool ({@value RelayObserver#DEFAULT_POOL} first).
     */
    public record ListenerState(String name, boolean bound, Map<String, PoolState> pools) {

        /** Backends up over all the listener's pools. */
        public int backendsUp() {
            return pools.values().stream().mapToInt(PoolState::up).sum();
        }

        /** Backends over all the listener's pools. */
        public int backends() {
            return pools.values().stream().mapToInt(PoolState::backends).sum();
        }
    }

    /** A backend pool's backends, and how many of them the health check finds up. */
    public record PoolState(int up, int backends) {
    }

    /** True between a successful {@link #start()} and {@link #close()}. Any thread. */
    public boolean isStarted() {
        return started;
    }

    public synchronized List<ListenerState> states() {
        List<ListenerState> out = new ArrayList<>();
        for (Listener l : listeners) {
            Map<String, PoolState> byPool = new LinkedHashMap<>();
            poolsByListener.getOrDefault(l.name(), Map.of())
                    .forEach((name, pool) -> byPool.put(name, new PoolState(pool.upCount(), pool.size())));
            out.add(new ListenerState(l.name(), l.isBound(), Collections.unmodifiableMap(byPool)));
        }
        return out;
    }

    public synchronized List<Listener> listeners() {
        return Collections.unmodifiableList(new ArrayList<>(listeners));
    }

    public synchronized Optional<Listener> listener(String name) {
        return listeners.stream().filter(l -> l.name().equals(name)).findFirst();
    }

    /** Completes a pended inspection on the listener called {@code listener}; false when there is none. Any thread. */
    @Override
    public boolean complete(String listener, InspectId id, InspectAction action, Completion completion) {
        Listener l = byName.get(listener);
        return l != null && l.inspectComplete(id, action, completion);
    }

    /** The names a route may use on the listener called {@code listener}: "default" and its named pools. Any thread. */
    @Override
    public Set<String> routes(String listener) {
        return routes.getOrDefault(listener, Set.of());
    }

    /** The {@code inspect.timeout} of the listener called {@code listener}. Any thread. */
    @Override
    public Optional<Duration> inspectTimeout(String listener) {
        return Optional.ofNullable(byName.get(listener)).map(l -> l.settings().inspectTimeout());
    }

    /** The built-in echo backend, in demo mode. */
    public synchronized Optional<EchoServer> echoServer() {
        return Optional.ofNullable(echo);
    }

    /**
     * The graceful part of a stop: every listener stops accepting (pended inspections get their
     * {@code on-timeout}), then relays may finish for up to {@code grace}; those still open then are reset (not
     * closed with a FIN, which would pass for a complete stream). Returns the relays that were still open.
     */
    public int drain(Duration grace) {
        List<Listener> current = listeners();
        current.forEach(Listener::stopAccepting);
        long deadline = System.nanoTime() + grace.toNanos();
        int open = openRelays();
        if (open > 0) {
            log.info("Draining: {} relay(s) open, waiting up to {} ms", open, grace.toMillis());
        }
        while (open > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            open = openRelays();
        }
        if (open > 0) {
            log.warn("Shutdown grace of {} ms over: resetting {} relay(s)", grace.toMillis(), open);
            // A reset, not a FIN: a stream cut short must not look complete to the client or the backend.
            relayHandlers().forEach(RelayAcceptHandler::resetAll);
            long resetDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (openRelays() > 0 && System.nanoTime() < resetDeadline) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return open;
    }

    private synchronized List<RelayAcceptHandler> relayHandlers() {
        return new ArrayList<>(relayHandlers);
    }

    /** Relays open (or connecting) now, over all listeners. Any thread. */
    public synchronized int openRelays() {
        int open = 0;
        for (BackendPool pool : allPools) {
            for (int i = 0; i < pool.size(); i++) {
                open += pool.active(i);
            }
        }
        return open;
    }

    @Override
    public synchronized void close() {
        started = false;
        for (Listener l : listeners) {
            try {
                l.close();
            } catch (RuntimeException e) {
                log.warn("Closing listener '{}' failed", l.name(), e);
            }
        }
        if (enforcement != null) {
            enforcement.clear();
        }
        listeners.clear();
        byName.clear();
        relayByListener.clear();
        healthCheckers.forEach(BackendHealthChecker::close);
        healthCheckers.clear();
        poolsByListener.clear();
        allPools.clear();
        relayHandlers.clear();
        routes.clear();
        if (echo != null) {
            echo.close();
            echo = null;
        }
    }
}
