package io.portcullis.gateway;

import io.portcullis.gateway.config.FinalAction;
import io.portcullis.gateway.config.HostAndPort;
import io.portcullis.gateway.config.PortcullisProperties;
import io.portcullis.gateway.config.PortcullisProperties.Inspect;
import io.portcullis.gateway.config.PortcullisProperties.ListenerProperties;
import io.portcullis.gateway.demo.EchoServer;
import io.portcullis.gateway.listener.EventLoops;
import io.portcullis.gateway.listener.InspectHandler;
import io.portcullis.gateway.listener.Listener;
import io.portcullis.gateway.listener.ListenerSettings;
import io.portcullis.gateway.metrics.GatewayMeters;
import io.portcullis.gateway.proxy.Balance;
import io.portcullis.gateway.proxy.BackendPool;
import io.portcullis.gateway.proxy.RelayAcceptHandler;
import io.portcullis.gateway.proxy.RelaySettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway: its listeners, each relaying to its backend pool, and in demo mode the built-in
 * echo backend. Started and stopped by the application context; all public methods are for any thread
 * but an event loop.
 */
public final class Gateway implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final List<ListenerProperties> configured;
    private final PortcullisProperties.Demo demo;
    private final EventLoops loops;
    private final InspectHandler inspectHandler;
    private final GatewayMeters meters;
    private final List<Listener> listeners = new ArrayList<>();
    private EchoServer echo;

    public Gateway(List<ListenerProperties> configured, PortcullisProperties.Demo demo, EventLoops loops,
                   InspectHandler inspectHandler, GatewayMeters meters) {
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
            for (ListenerProperties p : plan) {
                listeners.add(build(p).start());
            }
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
                        FinalAction.REJECT, ListenerSettings.DEFAULT_HOLD_BYTES));
    }

    private Listener build(ListenerProperties p) {
        ListenerSettings settings = new ListenerSettings(p.name(), p.bind().toSocketAddress(), p.conditionalAccept(),
                p.inspect().timeout(), p.inspect().onTimeout().toInspectAction(), p.inspect().maxPending(),
                p.inspect().onOverflow().toInspectAction(), p.inspect().holdBytes(),
                ListenerSettings.DEFAULT_ACCEPT_BACKLOG);
        BackendPool pool = new BackendPool(p.backends().stream().map(HostAndPort::toSocketAddress).toList(), p.balance());
        RelayAcceptHandler relay = new RelayAcceptHandler(p.name(), pool,
                new RelaySettings(p.connectTimeout(), p.idleTimeout()), loops, meters);
        Listener listener = Listener.builder(p.name())
                .settings(settings)
                .eventLoops(loops)
                .inspectHandler(inspectHandler)
                .acceptHandler(relay)
                .observer(meters)
                .build();
        meters.register(p.name(), listener::pendingCount);
        return listener;
    }

    public synchronized List<Listener> listeners() {
        return Collections.unmodifiableList(new ArrayList<>(listeners));
    }

    public synchronized Optional<Listener> listener(String name) {
        return listeners.stream().filter(l -> l.name().equals(name)).findFirst();
    }

    /** The built-in echo backend, in demo mode. */
    public synchronized Optional<EchoServer> echoServer() {
        return Optional.ofNullable(echo);
    }

    @Override
    public synchronized void close() {
        for (Listener l : listeners) {
            try {
                l.close();
            } catch (RuntimeException e) {
                log.warn("Closing listener '{}' failed", l.name(), e);
            }
        }
        listeners.clear();
        if (echo != null) {
            echo.close();
            echo = null;
        }
    }
}
