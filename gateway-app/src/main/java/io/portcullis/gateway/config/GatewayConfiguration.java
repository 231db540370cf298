package io.portcullis.gateway.config;

import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.retry.RetryRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.portcullis.gateway.cluster.ClusterConfigured;
import io.portcullis.core.EventLoops;
import io.portcullis.core.Transport;
import io.portcullis.gateway.Gateway;
import io.portcullis.gateway.cluster.ClusterLimits;
import io.portcullis.gateway.cluster.ClusterStore;
import io.portcullis.gateway.cluster.RedisClusterLimits;
import io.portcullis.gateway.decision.DecisionServiceSettings;
import io.portcullis.gateway.decision.DecisionServices;
import io.portcullis.gateway.decision.ResilienceRegistries;
import io.portcullis.gateway.metrics.GatewayMeters;
import io.portcullis.gateway.policy.LiveEnforcement;
import io.portcullis.gateway.policy.PolicyInspectHandler;
import io.portcullis.gateway.policy.PolicyReloader;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyOptions;
import io.portcullis.policy.limit.LimiterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Conditional;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.DependsOn;

/** Wires the Netty gateway and the policy engine from {@code portcullis.*}; Spring only wires, never runs, them. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(PortcullisProperties.class)
public class GatewayConfiguration {

    private static final Logger log = LoggerFactory.getLogger(GatewayConfiguration.class);

    /** After {@code gatewayMeters}: the I/O threads stop before the audit log drains, so it sees their last lines. */
    @Bean(destroyMethod = "close")
    @DependsOn("gatewayMeters")
    EventLoops eventLoops(PortcullisProperties properties) {
        // A transport asked for by name and unavailable here stops the start, saying why.
        return EventLoops.create(Transport.parse(properties.transport()), properties.workerThreads());
    }

    @Bean(destroyMethod = "close")
    GatewayMeters gatewayMeters(MeterRegistry registry, PortcullisProperties properties) {
        return new GatewayMeters(registry, properties.audit().queueSize());
    }

    /**
     * The relay's buffers come from Netty's default allocator, outside the heap: its memory in use as
     * {@code netty_allocator_memory_used{memory_type="direct"}}, so what slow readers hold shows.
     */
    @Bean
    MeterBinder nettyAllocatorMeters() {
        return registry -> {
            if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider provider) {
                new NettyAllocatorMetrics(provider).bindTo(registry);
            }
        };
    }

    /** Limiter state lives here, outside any one policy, so it survives reloads of unchanged rules. */
    @Bean
    PolicyOptions policyOptions(GatewayMeters meters) {
        LimiterRegistry limiters = new LimiterRegistry();
        meters.limiters(limiters);
        return PolicyOptions.defaults().withLimiters(limiters);
    }

    /** The policy and what it must fit: the same derivation serves the start, every reload and validate. */
    @Bean
    PolicySource policySource(PortcullisProperties properties) {
        return PolicySource.of(properties);
    }

    /**
     * The decision services, on the gateway's event loops; circuit breaker, retry and bulkhead come from the
     * registries of Resilience4j's Spring Boot module (its own keys and meters), by service name. Services whose
     * cache has {@code scope: cluster} share their answers through the cluster store (closed after them).
     */
    @Bean(destroyMethod = "close")
    DecisionServices decisionServices(PortcullisProperties properties, EventLoops loops, GatewayMeters meters,
                                      CircuitBreakerRegistry circuitBreakers, RetryRegistry retries,
                                      BulkheadRegistry bulkheads, Optional<ClusterStore> clusterStore) {
        List<DecisionServiceSettings> settings = properties.decisionServices().entrySet().stream()
                .map(e -> e.getValue().toSettings(e.getKey())).toList();
        return new DecisionServices(settings, loops.workers(),
                new ResilienceRegistries(circuitBreakers, retries, bulkheads), meters, clusterStore,
                properties.admin().tokenValue());
    }

    /**
     * The Redis the replicas share, when {@code portcullis.cluster.redis.url} is set; its meters are
     * {@code portcullis_cluster_store_*}. Starting does not wait for Redis: it connects in the background.
     */
    @Bean(destroyMethod = "close")
    @Conditional(ClusterConfigured.class)
    ClusterStore clusterStore(PortcullisProperties properties, MeterRegistry registry) {
        PortcullisProperties.Cluster cluster = properties.cluster();
        PortcullisProperties.Redis redis = cluster.redis();
        String replica = cluster.replicaId() != null ? cluster.replicaId() : defaultReplicaId();
        ClusterStore store = new ClusterStore(replica, redis.url(), redis.timeout(), redis.pool().connections(),
                redis.pool().maxInFlight(), redis.leaseTtl());
        store.bindTo(registry);
        log.info("Cluster: replica {} shares state through Redis at {}", replica, store.shownUri());
        return store;
    }

    /**
     * Cluster-scope limiter state (token buckets, concurrency leases) in the store's Redis, when there is one;
     * consumed as {@code ObjectProvider<ClusterLimits>}. Its meters are {@code portcullis_cluster_leases} and
     * {@code portcullis_cluster_lease_renewals_total}. Closed before the store: it releases the leases still held.
     */
    @Bean(destroyMethod = "close")
    @Conditional(ClusterConfigured.class)
    RedisClusterLimits clusterLimits(ClusterStore store, MeterRegistry registry) {
        RedisClusterLimits limits = new RedisClusterLimits(store);
        limits.bindTo(registry);
        return limits;
    }

    /** The pod's name in Kubernetes (HOSTNAME), else the host's, with the process id: unique on one host too. */
    static String defaultReplicaId() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                host = "replica";
            }
        }
        String id = host.replaceAll("[^A-Za-z0-9._:-]", "_") + "-" + ProcessHandle.current().pid();
        return id.length() > 128 ? id.substring(id.length() - 128) : id;
    }

    @Bean
    PolicyEngine policyEngine(PolicySource source, PolicyOptions options, GatewayMeters meters) {
        // Only listeners without inspection when there is no file: nothing to evaluate, ever.
        Policy policy = source.load(options);
        source.resource().ifPresent(r -> log.info("Policy loaded from {}: {} listener(s), {} rule(s)",
                source.name(), policy.listenerNames().size(),
                policy.ruleCount()));
        return new PolicyEngine(policy, meters);
    }

    @Bean
    LiveEnforcement liveEnforcement(PolicyEngine engine, GatewayMeters meters) {
        return new LiveEnforcement(engine, meters);
    }

    /** Watches the configured rules file when it is a file. */
    @Bean(destroyMethod = "close")
    PolicyWatch policyWatch(PolicySource source, PolicyEngine engine, PolicyOptions options,
                            GatewayMeters meters, PortcullisProperties properties, LiveEnforcement enforcement) {
        // The demo's built-in policy is never reloaded, wherever its resource happens to live.
        Optional<Path> file = source.file();
        if (!source.configured() || file.isEmpty()) {
            return new PolicyWatch(Optional.empty());
        }
        PolicyReloader.Observer observer = new PolicyReloader.Observer() {
            @Override
            public void reloaded(boolean success) {
                meters.reloaded(success);
            }

            @Override
            public void replaced(Policy next) {
                enforcement.policyReplaced(next);
            }
        };
        PolicyReloader reloader = new PolicyReloader(engine, file.get(), options, source.checks(), observer,
                properties.rulesCheckInterval());
        reloader.start();
        return new PolicyWatch(Optional.of(reloader));
    }

    /**
     * The gateway and its inspect handler. With a cluster store ({@code portcullis.cluster.redis.url} set) and a
     * {@link ClusterLimits} bean on it, {@code scope: cluster} limiters ask the store; without a url they never run
     * (the policy checks refuse them), and with a url but no {@code ClusterLimits} they count locally (said at start).
     */
    @Bean
    Gateway gateway(PortcullisProperties properties, EventLoops loops, PolicyEngine engine, GatewayMeters meters,
                    DecisionServices decisions, LiveEnforcement enforcement, ObjectProvider<ClusterStore> clusterStore,
                    ObjectProvider<ClusterLimits> clusterLimits) {
        Optional<ClusterLimits> limits = Optional.empty();
        Duration storeTimeout = properties.cluster().redis().timeout();
        if (properties.cluster().enabled()) {
            ClusterStore store = clusterStore.getIfAvailable();
            if (store != null) {
                storeTimeout = store.timeout();
            }
            limits = Optional.ofNullable(clusterLimits.getIfAvailable());
            if (limits.isEmpty()) {
                log.warn("Cluster: no cluster limiter state is available in this build: scope: cluster limiters count"
                        + " on each replica locally");
            }
        }
        PolicyInspectHandler handler = new PolicyInspectHandler(engine, meters, decisions, limits, storeTimeout, meters);
        Gateway gateway = new Gateway(properties.toGatewaySettings(), loops, handler, meters, decisions, enforcement);
        handler.completeThrough(gateway);
        return gateway;
    }

    @Bean
    SmartLifecycle gatewayLifecycle(Gateway gateway, PortcullisProperties properties) {
        return new GatewayLifecycle(gateway, properties.shutdownGrace());
    }

    /** Binds the listeners once the context is ready and drains them first on shutdown. */
    static final class GatewayLifecycle implements SmartLifecycle {
        private final Gateway gateway;
        private final Duration grace;
        private volatile boolean running;

        GatewayLifecycle(Gateway gateway, Duration grace) {
            this.gateway = gateway;
            this.grace = grace;
        }

        @Override
        public void start() {
            gateway.start();
            running = true;
        }

        @Override
        /** SIGTERM: stop accepting, resolve pended per on-timeout, let relays finish within the grace; then close. */
        public void stop() {
            running = false;
            gateway.drain(grace);
            gateway.close();
        }

        @Override
        public boolean isRunning() {
            return running;
        }
    }
}
