package io.portcullis.gateway.health;

import io.portcullis.gateway.Gateway;
import io.portcullis.policy.PolicyEngine;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Readiness: the gateway has started, every listener is bound, a policy is loaded, and each listener has
 * at least one backend the health check finds up, in any of its pools: a listener that routes by name serves
 * while one of its pools can, and taking every replica out of service because one pool is down everywhere
 * would only stop the others. Cheap: reads state, does no I/O.
 */
public class GatewayReadinessIndicator implements HealthIndicator {

    private final Gateway gateway;
    private final PolicyEngine engine;

    public GatewayReadinessIndicator(Gateway gateway, PolicyEngine engine) {
        this.gateway = gateway;
        this.engine = engine;
    }

    @Override
    public Health health() {
        Map<String, Object> listeners = new LinkedHashMap<>();
        boolean ready = gateway.isStarted() && engine.current() != null;
        for (Gateway.ListenerState s : gateway.states()) {
            Map<String, Object> listener = new LinkedHashMap<>();
            listener.put("bound", s.bound());
            listener.put("backendsUp", s.backendsUp());
            listener.put("backends", s.backends());
            if (s.pools().size() > 1) {
                Map<String, Object> pools = new LinkedHashMap<>();
                s.pools().forEach((name, pool) -> pools.put(name, Map.of("backendsUp", pool.up(), "backends", pool.backends())));
                listener.put("pools", pools);
            }
            listeners.put(s.name(), listener);
            ready &= s.bound() && s.backendsUp() > 0;
        }
        Health.Builder health = ready ? Health.up() : Health.outOfService();
        return health.withDetail("started", gateway.isStarted())
                .withDetail("policy", engine.current() == null ? "none" : engine.current().source())
                .withDetail("listeners", listeners).build();
    }
}
