package io.portcullis.gateway.decision;

import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.retry.RetryRegistry;
import java.util.Objects;

/**
 * Where each decision service takes its circuit breaker, retry and bulkhead, by the service's name: the
 * registries Resilience4j's Spring Boot module builds from {@code resilience4j.circuitbreaker.instances.<name>.*},
 * {@code resilience4j.retry.instances.<name>.*} and {@code resilience4j.bulkhead.instances.<name>.*} (a name
 * without instance keys gets the registry's default configuration), with Resilience4j's own meters.
 */
public record ResilienceRegistries(CircuitBreakerRegistry circuitBreakers, RetryRegistry retries, BulkheadRegistry bulkheads) {

    public ResilienceRegistries {
        Objects.requireNonNull(circuitBreakers, "circuitBreakers");
        Objects.requireNonNull(retries, "retries");
        Objects.requireNonNull(bulkheads, "bulkheads");
    }

    /** Registries with Resilience4j's built-in defaults, for use without Spring. */
    public static ResilienceRegistries defaults() {
        return new ResilienceRegistries(CircuitBreakerRegistry.ofDefaults(), RetryRegistry.ofDefaults(),
                BulkheadRegistry.ofDefaults());
    }
}
