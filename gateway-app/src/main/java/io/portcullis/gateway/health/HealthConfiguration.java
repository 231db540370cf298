package io.portcullis.gateway.health;

import io.portcullis.gateway.Gateway;
import io.portcullis.core.EventLoops;
import io.portcullis.policy.PolicyEngine;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The gateway's own health contributors, grouped in application.yml: {@code eventLoops} into liveness,
 * {@code gateway} into readiness.
 */
@Configuration(proxyBeanMethods = false)
public class HealthConfiguration {

    @Bean
    EventLoopsHealthIndicator eventLoopsHealthIndicator(EventLoops loops) {
        return new EventLoopsHealthIndicator(loops);
    }

    @Bean
    GatewayReadinessIndicator gatewayHealthIndicator(Gateway gateway, PolicyEngine engine) {
        return new GatewayReadinessIndicator(gateway, engine);
    }
}
