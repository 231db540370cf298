package io.portcullis.gateway.health;

import io.netty.util.concurrent.EventExecutor;
import io.portcullis.core.EventLoops;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Liveness: every I/O event loop runs a no-op task within the deadline. A loop stuck in blocking code
 * fails this, and the orchestrator restarts the process.
 */
public class EventLoopsHealthIndicator implements ReactiveHealthIndicator {

    static final Duration DEADLINE = Duration.ofSeconds(2);

    private final EventLoops loops;

    public EventLoopsHealthIndicator(EventLoops loops) {
        this.loops = loops;
    }

    @Override
    public Mono<Health> health() {
        List<Mono<Void>> pings = new ArrayList<>();
        for (EventExecutor loop : loops.workers()) {
            pings.add(ping(loop));
        }
        int count = pings.size();
        return Mono.when(pings)
                .timeout(DEADLINE)
                .then(Mono.fromSupplier(() -> Health.up().withDetail("eventLoops", count)
                        .withDetail("transport", loops.transportName()).build()))
                .onErrorResume(e -> Mono.just(Health.down().withDetail("eventLoops", count)
                        .withDetail("error", "an event loop did not answer within " + DEADLINE.toMillis() + " ms").build()));
    }

    private static Mono<Void> ping(EventExecutor loop) {
        Sinks.Empty<Void> done = Sinks.empty();
        try {
            loop.execute(done::tryEmitEmpty);
        } catch (RuntimeException e) {
            return Mono.error(e);
        }
        return done.asMono();
    }
}
