package io.portcullis.gateway.config;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.gateway.Gateway;
import io.portcullis.gateway.admin.AdminTokenFilter;
import io.portcullis.gateway.config.PortcullisProperties.ListenerProperties;
import io.portcullis.gateway.listener.EventLoops;
import io.portcullis.gateway.metrics.GatewayMeters;
import io.portcullis.gateway.policy.PolicyInspectHandler;
import io.portcullis.gateway.policy.PolicyReloader;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyOptions;
import io.portcullis.policy.limit.LimiterRegistry;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.Resource;
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

    /** Limiter state lives here, outside any one policy, so it survives reloads of unchanged rules. */
    @Bean
    PolicyOptions policyOptions() {
        return PolicyOptions.defaults().withLimiters(new LimiterRegistry());
    }

    @Bean
    PolicySource policySource(PortcullisProperties properties, ResourceLoader resources) {
        boolean demo = properties.listeners().isEmpty();
        List<String> inspecting = demo ? List.of("demo")
                : properties.listeners().stream().filter(ListenerProperties::conditionalAccept)
                        .map(ListenerProperties::name).toList();
        Optional<Resource> resource = properties.rulesLocation().or(() -> demo ? Optional.of(DEMO_RULES) : Optional.empty())
                .map(resources::getResource);
        return new PolicySource(resource, inspecting, properties.rulesLocation().isPresent());
    }

    @Bean
    PolicyEngine policyEngine(PolicySource source, PolicyOptions options, GatewayMeters meters) {
        // Only listeners without inspection when there is no file: nothing to evaluate, ever.
        Policy policy = source.resource().map(r -> PolicyFiles.load(r, source.inspecting(), options))
                .orElseGet(PolicyFiles::empty);
        return new PolicyEngine(policy, meters);
    }

    /** Watches the configured rules file when it is a file. */
    @Bean(destroyMethod = "close")
    PolicyWatch policyWatch(PolicySource source, PolicyEngine engine, PolicyOptions options,
                            GatewayMeters meters, PortcullisProperties properties) throws IOException {
        // The demo's built-in policy is never reloaded, wherever its resource happens to live.
        if (!source.configured() || source.resource().isEmpty() || !source.resource().get().isFile()) {
            return new PolicyWatch(Optional.empty());
        }
        PolicyReloader reloader = new PolicyReloader(engine, source.resource().get().getFile().toPath(), options,
                source.inspecting(), meters, properties.rulesCheckInterval());
        reloader.start();
        return new PolicyWatch(Optional.of(reloader));
    }

    @Bean
    AdminTokenFilter adminTokenFilter(PortcullisProperties properties) {
        return new AdminTokenFilter(properties.admin().tokenValue());
    }

    @Bean
    Gateway gateway(PortcullisProperties properties, EventLoops loops, PolicyEngine engine, GatewayMeters meters) {
        return new Gateway(properties.listeners(), properties.demo(), loops, new PolicyInspectHandler(engine, meters), meters);
    }

    @Bean
    SmartLifecycle gatewayLifecycle(Gateway gateway) {
        return new GatewayLifecycle(gateway);
    }

    /** Where the policy comes from and which listeners it must cover. */
    record PolicySource(Optional<Resource> resource, List<String> inspecting, boolean configured) {
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
