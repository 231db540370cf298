package io.portcullis.gateway;

import io.portcullis.gateway.config.FinalAction;
import io.portcullis.gateway.config.HostAndPort;
import io.portcullis.gateway.config.PortcullisProperties;
import io.portcullis.gateway.config.PortcullisProperties.HealthCheck;
import io.portcullis.gateway.config.PortcullisProperties.Inspect;
import io.portcullis.gateway.config.PortcullisProperties.ListenerProperties;
import io.portcullis.gateway.decision.Completer;
import io.portcullis.gateway.decision.DecisionServices;
import io.portcullis.gateway.demo.EchoServer;
import io.portcullis.gateway.listener.Completion;
import io.portcullis.gateway.listener.EventLoops;
import io.portcullis.gateway.listener.InspectHandler;
import io.portcullis.gateway.listener.Listener;
import io.portcullis.gateway.listener.ListenerSettings;
import io.portcullis.gateway.metrics.GatewayMeters;
import io.portcullis.gateway.proxy.Balance;
import io.portcullis.gateway.proxy.BackendHealthChecker;
import io.portcullis.gateway.proxy.BackendPool;
import io.portcullis.gateway.proxy.RelayAcceptHandler;
import io.portcullis.gateway.proxy.RelaySettings;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectId;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway: its listeners, each relaying to its backend pool, and in demo mode the built-in
 * echo backend. Started and stopped by the application context; all public methods are for any thread
 * but an event loop.
 */
public final class Gateway implements AutoCloseable, Completer {

    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final List<ListenerProperties> configured;
    private final PortcullisProperties.Demo demo;
    private final EventLoops loops;
    private final InspectHandler inspectHandler;
    private final GatewayMeters meters;
    private final List<Listener> listeners = new ArrayList<>();
    /** The listeners by name, for completions from decision services (any thread). */
    private final Map<String, Listener> byName = new ConcurrentHashMap<>();
    private final DecisionServices decisions;
    private final List<BackendHealthChecker> healthCheckers = new ArrayList<>();
    private final Map<String, BackendPool> pools = new LinkedHashMap<>();
    private volatile boolean started;
    private EchoServer echo;

    public Gateway(List<ListenerProperties> configured, PortcullisProperties.Demo demo, EventLoops loops,
                   InspectHandler inspectHandler, GatewayMeters meters) {
        this(configured, demo, loops, inspectHandler, meters, DecisionServices.none());
    }

    /**
     * @param decisions the decision services: they complete pended inspections through this gateway and are
     *                  told when a pended client leaves (each listener's abort handler)
     */
    public Gateway(List<ListenerProperties> configured, PortcullisProperties.Demo demo, EventLoops loops,
                   InspectHandler inspectHandler, GatewayMeters meters, DecisionServices decisions) {
        this.decisions = decisions;
        this.configured = List.copyOf(configured);
        this.demo = demo;
        this.loops = loops;
        this.inspectHandler = inspectHandler;
        this.meters = meters;
    }

    /** True when no listener is configured and the embedded demo runs instead. */
    public boolean isDemo() {
        return configured.isEmpty();
    }

    /** Binds every listener; when one cannot bind, the others are closed again and the start fails. */
    public synchronized void start() {
        try {
            List<ListenerProperties> plan = configured;
            if (isDemo()) {
                echo = new EchoServer(loops, demo.echoBind().toSocketAddress()).start();
                InetSocketAddress echoAddress = echo.localAddress();
                plan = List.of(demoListener(new HostAndPort(echoAddress.getHostString(), echoAddress.getPort())));
                log.warn("No listener configured: running the embedded demo. Listener 'demo' on {} relays to the "
                        + "built-in echo server on {}; rules from the demo policy (127.0.0.1 accepted, "
                        + "127.0.0.2 rejected, 127.0.0.3 pended).", demo.bind(), echoAddress);
            }
            decisions.completeThrough(this);
            for (ListenerProperties p : plan) {
                Listener listener = build(p);
                byName.put(p.name(), listener);
                listeners.add(listener.start());
            }
            started = true;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private ListenerProperties demoListener(HostAndPort echoAddress) {
        return new ListenerProperties("demo", demo.bind(), true, List.of(echoAddress),
                Balance.ROUND_ROBIN, Duration.ofSeconds(2),
                Duration.ofMinutes(10),
                new Inspect(Duration.ofSeconds(10),
                        FinalAction.ACCEPT, 1000,
                        FinalAction.REJECT, ListenerSettings.DEFAULT_HOLD_BYTES),
                new HealthCheck(true, Duration.ofSeconds(5), Duration.ofSeconds(1), 2, 3));
    }

    private Listener build(ListenerProperties p) {
        ListenerSettings settings = new ListenerSettings(p.name(), p.bind().toSocketAddress(), p.conditionalAccept(),
                p.inspect().timeout(), p.inspect().onTimeout().toInspectAction(), p.inspect().maxPending(),
                p.inspect().onOverflow().toInspectAction(), p.inspect().holdBytes(),
                ListenerSettings.DEFAULT_ACCEPT_BACKLOG);
        BackendPool pool = new BackendPool(p.backends().stream().map(HostAndPort::toSocketAddress).toList(), p.balance());
        RelayAcceptHandler relay = new RelayAcceptHandler(p.name(), pool,
                new RelaySettings(p.connectTimeout(), p.idleTimeout()), loops, meters);
        healthCheckers.add(new BackendHealthChecker(relay, p.healthCheck().toSettings(), loops.workers().next()).start());
        pools.put(p.name(), pool);
        Listener listener = Listener.builder(p.name())
                .settings(settings)
                .eventLoops(loops)
                .inspectHandler(inspectHandler)
                .abortHandler(decisions)
                .acceptHandler(relay)
                .observer(meters)
                .build();
        meters.register(p.name(), listener::pendingCount);
        return listener;
    }

    /** One listener's readiness: bound, and how many of its backends the health check finds up. */
    public record ListenerState(String name, boolean bound, int backendsUp, int backends) {
    }

    /** True between a successful {@link #start()} and {@link #close()}. Any thread. */
    public boolean isStarted() {
        return started;
    }

    public synchronized List<ListenerState> states() {
        List<ListenerState> out = new ArrayList<>();
        for (Listener l : listeners) {
            BackendPool pool = pools.get(l.name());
            out.add(new ListenerState(l.name(), l.isBound(), pool == null ? 0 : pool.upCount(), pool == null ? 0 : pool.size()));
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
     * {@code on-timeout}), then relays may finish for up to {@code grace}. Returns the relays still open.
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
            log.warn("Shutdown grace of {} ms over: closing {} relay(s)", grace.toMillis(), open);
        }
        return open;
    }

    /** Relays open (or connecting) now, over all listeners. Any thread. */
    public synchronized int openRelays() {
        int open = 0;
        for (BackendPool pool : pools.values()) {
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
        listeners.clear();
        byName.clear();
        healthCheckers.forEach(BackendHealthChecker::close);
        healthCheckers.clear();
        pools.clear();
        if (echo != null) {
            echo.close();
            echo = null;
        }
    }
}
