package io.portcullis.gateway.decision;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.bulkhead.operator.BulkheadOperator;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.github.resilience4j.reactor.retry.RetryOperator;
import io.github.resilience4j.retry.Retry;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.portcullis.core.InspectAction;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.HttpClientResponse;
import reactor.netty.resources.ConnectionProvider;

/**
 * The HTTP side of one decision service: Reactor Netty's {@link HttpClient} on the gateway's own event loops,
 * with a bounded connection pool, inside Resilience4j's bulkhead, circuit breaker and retry (innermost first,
 * Resilience4j's order). Fully asynchronous: nothing here blocks a thread, and an answer past
 * {@link #MAX_ANSWER_BYTES} is a failure, not a bigger buffer.
 */
final class DecisionClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DecisionClient.class);

    /** The largest answer read; a larger one fails the call. */
    static final int MAX_ANSWER_BYTES = 64 * 1024;
    /** Calls waiting for a pooled connection at most; past it a call fails at once. */
    static final int MAX_PENDING_ACQUIRES = 1024;
    /** Pooled connections idle longer than this are closed (under common server keep-alive timeouts). */
    static final Duration MAX_IDLE = Duration.ofSeconds(20);
    /** An attempt cut short by the budget ends at most this long before it. */
    static final Duration MAX_ATTEMPT_MARGIN = Duration.ofMillis(50);
    /** Less time than this left in the budget: no attempt is made. */
    private static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final DecisionServiceSettings settings;
    private final ConnectionProvider pool;
    private final HttpClient.RequestSender poster;
    private final CircuitBreaker circuitBreaker;
    private final Retry retry;
    private final Bulkhead bulkhead;

    DecisionClient(DecisionServiceSettings settings, EventLoopGroup loops, ResilienceRegistries resilience) {
        this.settings = settings;
        this.circuitBreaker = resilience.circuitBreakers().circuitBreaker(settings.name());
        this.retry = resilience.retries().retry(settings.name());
        this.bulkhead = resilience.bulkheads().bulkhead(settings.name());
        this.pool = ConnectionProvider.builder("portcullis-decision-" + settings.name())
                .maxConnections(settings.maxConnections())
                .pendingAcquireMaxCount(MAX_PENDING_ACQUIRES)
                .pendingAcquireTimeout(settings.timeout())
                .maxIdleTime(MAX_IDLE)
                .build();
        HttpClient http = HttpClient.create(pool)
                .runOn(loops)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.timeout().toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .keepAlive(true)
                .followRedirect(false)
                .headers(h -> {
                    settings.requestHeaders().forEach(h::set);
                    h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                            .set(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_JSON);
                });
        warmUp(http);
        this.poster = http.post().uri(settings.endpoint().toString());
        // One warning when an outage starts and one line when it ends: a service down for an hour re-opens from
        // half-open every wait-duration, and a line for each probe would bury the log.
        circuitBreaker.getEventPublisher().onStateTransition(event -> {
            CircuitBreaker.StateTransition t = event.getStateTransition();
            if (t.getFromState() == CircuitBreaker.State.HALF_OPEN || t.getToState() == CircuitBreaker.State.HALF_OPEN) {
                if (t.getToState() == CircuitBreaker.State.CLOSED) {
                    log.info("Decision service '{}': circuit breaker {}", settings.name(), t);
                } else {
                    log.debug("Decision service '{}': circuit breaker {}", settings.name(), t);
                }
            } else if (t.getToState() == CircuitBreaker.State.OPEN || t.getToState() == CircuitBreaker.State.FORCED_OPEN) {
                log.warn("Decision service '{}': circuit breaker {}; calls fail at once (on-failure: {})",
                        settings.name(), t, label(settings.onFailure()));
            } else {
                log.info("Decision service '{}': circuit breaker {}", settings.name(), t);
            }
        });
    }

    private static String label(OnFailure onFailure) {
        return onFailure.name().toLowerCase(Locale.ROOT);
    }

    /**
     * One decision: POST {@code body}, read and parse the answer. Cold: nothing happens until subscribed, and
     * cancelling the subscription abandons the call (its connection is closed, not reused). Each attempt
     * has the service's {@code timeout}, or what is left of {@code budget} when less; retries happen only
     * within {@code budget}, after which the call fails.
     */
    Mono<Decision> ask(byte[] body, Duration budget) {
        return Mono.defer(() -> {
            // Each attempt ends inside the circuit breaker, where a timeout counts as a failure, a little before
            // the budget: cut by the budget outside, it would be a cancellation, which the breaker ignores, and
            // a service that hangs would never open the circuit when its timeout is longer than the deadline.
            long cutAt = System.nanoTime() + budget.toNanos() - attemptMargin(budget).toNanos();
            Mono<Decision> attempt = Mono.defer(() -> {
                long left = cutAt - System.nanoTime();
                if (left < MIN_ATTEMPT_NANOS) {
                    return Mono.never(); // no time for a call: the budget ends it, and the breaker counts nothing
                }
                boolean cut = settings.timeout().toNanos() > left;
                Duration timeout = cut ? Duration.ofNanos(left) : settings.timeout();
                String what = cut ? "the inspection's deadline (" + timeout.toMillis() + " ms left)"
                        : timeout.toMillis() + " ms";
                return post(body).timeout(timeout, Mono.error(() -> new TimeoutException("no answer within " + what)));
            });
            return attempt
                    .transformDeferred(BulkheadOperator.of(bulkhead))
                    .transformDeferred(CircuitBreakerOperator.of(circuitBreaker))
                    .transformDeferred(RetryOperator.of(retry))
                    .timeout(budget, Mono.error(() -> new TimeoutException("no answer within the inspection's "
                            + "deadline (" + budget.toMillis() + " ms, retries included)")));
        });
    }

    /** Kept between a cut attempt's end and the budget's: a tenth of it, at most {@link #MAX_ATTEMPT_MARGIN}. */
    private static Duration attemptMargin(Duration budget) {
        Duration tenth = budget.dividedBy(10);
        return tenth.compareTo(MAX_ATTEMPT_MARGIN) < 0 ? tenth : MAX_ATTEMPT_MARGIN;
    }

    /**
     * Loads and initializes at start what the first call would otherwise do on an event loop with a client
     * waiting: the client's resolver and transport, and the decorators (run once around a constant, with
     * throw-away instances that no meter counts). A failure here only costs that time later.
     */
    private void warmUp(HttpClient http) {
        try {
            http.warmup().block(Duration.ofSeconds(10));
            Mono.just(new Decision(InspectAction.ACCEPT, Optional.empty(), Optional.empty()))
                    .timeout(Duration.ofSeconds(1), Mono.error(() -> new TimeoutException("warm-up")))
                    .transformDeferred(BulkheadOperator.of(Bulkhead.ofDefaults("warm-up")))
                    .transformDeferred(CircuitBreakerOperator.of(CircuitBreaker.ofDefaults("warm-up")))
                    .transformDeferred(RetryOperator.of(Retry.ofDefaults("warm-up")))
                    .block(Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            log.debug("Warming up the client of decision service '{}' failed", settings.name(), e);
        }
    }

    private Mono<Decision> post(byte[] body) {
        return poster
                .send((request, out) -> out.sendByteArray(Mono.just(body)))
                .response(this::read)
                .next()
                .switchIfEmpty(Mono.error(() -> new DecisionFailedException("no answer")));
    }

    private Mono<Decision> read(HttpClientResponse response, ByteBufFlux content) {
        int status = response.status().code();
        if (status < 200 || status > 299) {
            // The body is not read: Reactor Netty drops it with the connection.
            return Mono.error(new DecisionFailedException("HTTP status " + status));
        }
        String length = response.responseHeaders().get(HttpHeaderNames.CONTENT_LENGTH);
        if (length != null && tooLong(length)) {
            return Mono.error(new DecisionFailedException("answer of " + length + " bytes is larger than "
                    + MAX_ANSWER_BYTES));
        }
        return content.asByteArray()
                .collect(BoundedBody::new, BoundedBody::append)
                .map(b -> DecisionJson.parse(settings.type(), b.toByteArray()));
    }

    private static boolean tooLong(String contentLength) {
        try {
            return Long.parseLong(contentLength.trim()) > MAX_ANSWER_BYTES;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    CircuitBreaker circuitBreaker() {
        return circuitBreaker;
    }

    /** Closes the pooled connections. Any thread but an event loop; waits at most 5 s. */
    @Override
    public void close() {
        try {
            pool.disposeLater().block(Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            log.warn("Closing the connections of decision service '{}' failed: {}", settings.name(), e.toString());
        }
    }

    /** The answer's bytes, failing the call past {@link #MAX_ANSWER_BYTES}. */
    private static final class BoundedBody extends ByteArrayOutputStream {
        BoundedBody() {
            super(256);
        }

        void append(byte[] chunk) {
            if (count + chunk.length > MAX_ANSWER_BYTES) {
                throw new DecisionFailedException("answer larger than " + MAX_ANSWER_BYTES + " bytes");
            }
            write(chunk, 0, chunk.length);
        }
    }
}
