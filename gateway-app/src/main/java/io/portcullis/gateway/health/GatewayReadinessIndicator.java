package io.portcullis.gateway.health;

import io.portcullis.gateway.Gateway;
import io.portcullis.policy.PolicyEngine;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Readiness: the gateway has started, every listener is bound, a policy is loaded, and each listener has
 * at least one backend the health check finds up. Cheap: reads state, does no I/O.
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
            listeners.put(s.name(), Map.of("bound", s.bound(), "backendsUp", s.backendsUp(), "backends", s.backends()));
            ready &= s.bound() && s.backendsUp() > 0;
        }
        Health.Builder health = ready ? Health.up() : Health.outOfService();
        return health.withDetail("started", gateway.isStarted())
                .withDetail("policy", engine.current() == null ? "none" : engine.current().source())
                .withDetail("listeners", listeners).build();
    }
}
