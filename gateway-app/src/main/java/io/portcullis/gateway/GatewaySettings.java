package io.portcullis.gateway;

import io.portcullis.core.ListenerSettings;
import io.portcullis.core.relay.Balance;
import io.portcullis.core.relay.HealthCheckSettings;
import io.portcullis.core.relay.RelaySettings;
import io.portcullis.gateway.policy.LiveEnforcement;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the gateway runs, as plain values: its listeners, each with its backend pool, or the embedded demo when
 * there are none. Built from the validated configuration by the wiring; the gateway never sees the configuration.
 *
 * @param listeners the listeners; none runs the demo
 * @param demo      where the demo listens, and its built-in echo backend
 */
public record GatewaySettings(List<ListenerPlan> listeners, Demo demo) {

    public GatewaySettings {
        listeners = List.copyOf(listeners);
        Objects.requireNonNull(demo, "demo");
    }

    /**
     * One listener and where it relays to.
     *
     * @param listener    the listener's own settings
     * @param backends    the pool's backends (host names unresolved until connecting)
     * @param balance     how a backend is chosen
     * @param relay       connect and idle timeouts of the relays
     * @param healthCheck active check of the backends
     * @param pools       named pools by name, chosen by a route; the listener's own backends are not among them
     * @param earlyReject whether the leading source-only reject rules are also a kernel filter on the listening socket
     * @param recheckOnReload what a reload does to live relays the new policy rejects
     */
    public record ListenerPlan(ListenerSettings listener, List<InetSocketAddress> backends, Balance balance,
                               RelaySettings relay, HealthCheckSettings healthCheck, Map<String, PoolPlan> pools,
                               boolean earlyReject, LiveEnforcement.RecheckMode recheckOnReload) {

        public ListenerPlan {
            Objects.requireNonNull(recheckOnReload, "recheckOnReload");
            Objects.requireNonNull(listener, "listener");
            backends = List.copyOf(backends);
            Objects.requireNonNull(balance, "balance");
            Objects.requireNonNull(relay, "relay");
            Objects.requireNonNull(healthCheck, "healthCheck");
            pools = Map.copyOf(pools);
        }

        public String name() {
            return listener.name();
        }
    }

    /**
     * A named backend pool.
     *
     * @param backends    its backends (host names unresolved until connecting)
     * @param balance     how a backend is chosen
     * @param healthCheck active check of the backends
     */
    public record PoolPlan(List<InetSocketAddress> backends, Balance balance, HealthCheckSettings healthCheck) {

        public PoolPlan {
            backends = List.copyOf(backends);
            Objects.requireNonNull(balance, "balance");
            Objects.requireNonNull(healthCheck, "healthCheck");
        }
    }

    /**
     * The embedded demo: a listener in front of a built-in echo server, with the demo policy.
     *
     * @param bind     the demo listener
     * @param echoBind the echo backend
     */
    public record Demo(InetSocketAddress bind, InetSocketAddress echoBind) {

        /** The demo listener in front of the echo server that listens on {@code echo}: pends wait 10 s, then accept. */
        ListenerPlan plan(InetSocketAddress echo) {
            ListenerSettings settings = new ListenerSettings("demo", bind, true, Duration.ofSeconds(10),
                    io.portcullis.core.InspectAction.ACCEPT, 1000, io.portcullis.core.InspectAction.REJECT,
                    ListenerSettings.DEFAULT_HOLD_BYTES, ListenerSettings.DEFAULT_ACCEPT_BACKLOG,
                    io.portcullis.core.PeekSettings.NONE);
            return new ListenerPlan(settings, List.of(echo), Balance.ROUND_ROBIN,
                    new RelaySettings(Duration.ofSeconds(2), Duration.ofMinutes(10)),
                    new HealthCheckSettings(true, Duration.ofSeconds(5), Duration.ofSeconds(1), 2, 3), Map.of(),
                    false, LiveEnforcement.RecheckMode.OFF);
        }
    }
}
