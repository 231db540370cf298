package io.portcullis.gateway.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
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
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

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

    /**
     * A long outage: the circuit opens once, then probes half-open and re-opens every wait-duration. Only the
     * first opening warns and only the closing is logged above debug, or an hour down would write thousands of
     * lines.
     */
    @Test
    void anOutageWarnsOnceAndLogsTheRecovery() throws Exception {
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Logger logger = (Logger) LoggerFactory.getLogger(DecisionClient.class);
        Level level = logger.getLevel();
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        logger.setLevel(Level.DEBUG);
        try {
            ResilienceRegistries resilience = new ResilienceRegistries(CircuitBreakerRegistry.ofDefaults(),
                    RetryRegistry.of(RetryConfig.custom().maxAttempts(1).build()), BulkheadRegistry.ofDefaults());
            DecisionServiceSettings settings = new DecisionServiceSettings("down", DecisionType.HTTP,
                    URI.create("http://127.0.0.1:9/decide"), Duration.ofSeconds(1), OnFailure.ACCEPT,
                    Optional.empty(), 4);
            DecisionClient client = new DecisionClient(settings, loops, resilience);
            try {
                CircuitBreaker breaker = client.circuitBreaker();
                appender.list.clear();
                breaker.transitionToOpenState();
                for (int i = 0; i < 50; i++) {
                    breaker.transitionToHalfOpenState();
                    breaker.transitionToOpenState();
                }
                breaker.transitionToHalfOpenState();
                breaker.transitionToClosedState();
                List<String> above = appender.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.INFO))
                        .map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
                assertThat(above).containsExactly(
                        "WARN Decision service 'down': circuit breaker State transition from CLOSED to OPEN; calls "
                                + "fail at once (on-failure: accept)",
                        "INFO Decision service 'down': circuit breaker State transition from HALF_OPEN to CLOSED");
                assertThat(appender.list).hasSize(2 + 2 * 50 + 1);
            } finally {
                client.close();
            }
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(level);
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
