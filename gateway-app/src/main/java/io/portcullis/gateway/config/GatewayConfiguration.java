package io.portcullis.gateway.config;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.gateway.Gateway;
import io.portcullis.gateway.config.PortcullisProperties.ListenerProperties;
import io.portcullis.gateway.listener.EventLoops;
import io.portcullis.gateway.metrics.GatewayMeters;
import io.portcullis.gateway.policy.PolicyInspectHandler;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import java.util.List;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ResourceLoader;

/** Wires the Netty gateway and the policy engine from {@code portcullis.*}; Spring only wires, never runs, them. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(PortcullisProperties.class)
public class GatewayConfiguration {

    static final String DEMO_RULES = "classpath:demo/rules.yaml";

    @Bean(destroyMethod = "close")
    EventLoops eventLoops(PortcullisProperties properties) {
        return EventLoops.create(properties.workerThreads());
    }

    @Bean
    GatewayMeters gatewayMeters(MeterRegistry registry) {
        return new GatewayMeters(registry);
    }

    @Bean
    PolicyEngine policyEngine(PortcullisProperties properties, ResourceLoader resources) {
        boolean demo = properties.listeners().isEmpty();
        String location = properties.rulesLocation().orElse(demo ? DEMO_RULES : null);
        List<String> inspecting = demo ? List.of("demo")
                : properties.listeners().stream().filter(ListenerProperties::conditionalAccept)
                        .map(ListenerProperties::name).toList();
        if (location == null) {
            // Only listeners without inspection: nothing to evaluate, ever.
            return new PolicyEngine(PolicyFiles.empty());
        }
        Policy policy = PolicyFiles.load(resources.getResource(location), inspecting);
        return new PolicyEngine(policy);
    }

    @Bean
    Gateway gateway(PortcullisProperties properties, EventLoops loops, PolicyEngine engine, GatewayMeters meters) {
        return new Gateway(properties.listeners(), properties.demo(), loops, new PolicyInspectHandler(engine, meters), meters);
    }

    @Bean
    SmartLifecycle gatewayLifecycle(Gateway gateway) {
        return new GatewayLifecycle(gateway);
    }

    /** Binds the listeners once the context is ready and closes them first on shutdown. */
    static final class GatewayLifecycle implements SmartLifecycle {
        private final Gateway gateway;
        private volatile boolean running;

        GatewayLifecycle(Gateway gateway) {
            this.gateway = gateway;
        }

        @Override
        public void start() {
            gateway.start();
            running = true;
        }

        @Override
        public void stop() {
            running = false;
            gateway.close();
        }

        @Override
        public boolean isRunning() {
            return running;
        }
    }
}
