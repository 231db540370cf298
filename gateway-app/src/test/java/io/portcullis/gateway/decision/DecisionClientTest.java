package io.portcullis.gateway.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.retry.RetryConfig;
import io.github.resilience4j.retry.RetryRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The client of one decision service against a socket that never answers, without Spring. */
class DecisionClientTest {

    /**
     * A service timeout longer than the pend's deadline: the deadline cuts each attempt. The cut must count as
     * a failure in the circuit breaker (a cut from outside it would be a cancellation, which it ignores, and a
     * hanging service would never open the circuit).
     */
    @Test
    void attemptsCutByTheDeadlineOpenTheCircuit() throws Exception {
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        // Accepted by the kernel, never read or answered.
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CircuitBreakerRegistry breakers = CircuitBreakerRegistry.of(CircuitBreakerConfig.custom()
                    .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                    .slidingWindowSize(2).minimumNumberOfCalls(2).failureRateThreshold(50).build());
            ResilienceRegistries resilience = new ResilienceRegistries(breakers,
                    RetryRegistry.of(RetryConfig.custom().maxAttempts(1).build()), BulkheadRegistry.ofDefaults());
            DecisionServiceSettings settings = new DecisionServiceSettings("hung", DecisionType.HTTP,
                    URI.create("http://127.0.0.1:" + silent.getLocalPort() + "/decide"), Duration.ofSeconds(30),
                    OnFailure.REJECT, Optional.empty(), 4);
            DecisionClient client = new DecisionClient(settings, loops, resilience);
            try {
                byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
                for (int i = 0; i < 2; i++) {
                    assertThatThrownBy(() -> client.ask(body, Duration.ofMillis(500)).block(Duration.ofSeconds(10)))
                            .hasMessageContaining("no answer within the inspection's deadline (");
                }
                // The attempt's own timeout and the budget's run on different timer threads: on a busy machine
                // the call may return before the breaker has counted its attempt.
                await().atMost(Duration.ofSeconds(5))
                        .until(() -> client.circuitBreaker().getState() == CircuitBreaker.State.OPEN);
                assertThat(client.circuitBreaker().getMetrics().getNumberOfFailedCalls()).isEqualTo(2);
            } finally {
                client.close();
            }
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
