package io.portcullis.gateway.admin;

import io.portcullis.gateway.cluster.ClusterConfigured;
import io.portcullis.gateway.Gateway;
import io.portcullis.gateway.cluster.ClusterPending;
import io.portcullis.gateway.cluster.ClusterStore;
import io.portcullis.gateway.config.PortcullisProperties;
import io.portcullis.gateway.pending.OperatorCompletion;
import io.portcullis.gateway.pending.PendingEntry;
import java.util.List;
import java.util.Objects;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Conditional;
import org.springframework.boot.actuate.endpoint.EndpointId;
import org.springframework.boot.actuate.endpoint.web.PathMappedEndpoints;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The admin API's door: deny by default on the HTTP server that carries it. */
@Configuration(proxyBeanMethods = false)
public class AdminConfiguration {

    /** Actuator endpoints that answer without the admin token: probes and scrapes need them. */
    static final List<String> PUBLIC_ENDPOINTS = List.of("health", "prometheus");

    /**
     * Only health (with its groups) and prometheus answer without the token, at the paths the actuator
     * serves them on.
     */
    /**
     * One pending list for the cluster, when this replica is in one ({@code portcullis.cluster.redis.url}) and the
     * admin API is on: its token signs the completions relayed between replicas. Closed before the store.
     */
    @Bean(destroyMethod = "close")
    @Conditional({AdminApiCondition.class, ClusterConfigured.class})
    ClusterPending clusterPending(ClusterStore clusterStore, Gateway gateway, PortcullisProperties properties) {
        return new ClusterPending(clusterStore, () -> PendingEntry.snapshot(gateway), new OperatorCompletion(gateway),
                properties.admin().tokenValue().orElseThrow(), ClusterPending.Settings.DEFAULTS).start();
    }

    @Bean
    AdminTokenFilter adminTokenFilter(PortcullisProperties properties, ObjectProvider<PathMappedEndpoints> endpoints) {
        List<String> publicPaths = endpoints.stream()
                .flatMap(e -> PUBLIC_ENDPOINTS.stream().map(id -> e.getPath(EndpointId.of(id))))
                .filter(Objects::nonNull).toList();
        return new AdminTokenFilter(properties.admin().tokenValue(), publicPaths);
    }
}
