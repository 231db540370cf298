package io.portcullis.gateway.decision;

import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.netty.channel.EventLoopGroup;
import io.portcullis.core.Completion;
import io.portcullis.core.InspectAction;
import io.portcullis.gateway.cluster.ClusterStore;
import java.net.ConnectException;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Exceptions;
import reactor.netty.channel.AbortedException;
import reactor.netty.http.client.PrematureCloseException;

/**
 * One configured decision service: its client, its answer cache and what a failure decides. Thread-safe.
 */
final class DecisionService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DecisionServices.class);

    private final DecisionServiceSettings settings;
    private final DecisionClient client;
    private final VerdictCache cache;
    private final Optional<ClusterVerdicts> cluster;
    private final FailureLog failures;

    /**
     * @param store         the cluster's Redis, for a {@code cache.scope: cluster}; required then
     * @param clusterSecret the admin token, which signs the shared answers; required with the store
     * @throws IllegalArgumentException for a cluster-scope cache without a store or a secret
     */
    DecisionService(DecisionServiceSettings settings, EventLoopGroup loops, ResilienceRegistries resilience,
                    Optional<ClusterStore> store, Optional<String> clusterSecret) {
        this.settings = settings;
        boolean shared = settings.cache().map(c -> c.scope() == CacheScope.CLUSTER).orElse(false);
        if (shared && store.isEmpty()) {
            throw new IllegalArgumentException("decision service '" + settings.name() + "': cache.scope cluster needs "
                    + "portcullis.cluster.redis.url (the Redis the replicas share)");
        }
        if (shared && clusterSecret.isEmpty()) {
            throw new IllegalArgumentException("decision service '" + settings.name() + "': cache.scope cluster needs "
                    + "portcullis.admin.token (the shared answers are signed with a key derived from it)");
        }
        this.cluster = shared
                ? Optional.of(new ClusterVerdicts(settings.name(), store.get(), settings.cache().get().ttl(),
                        clusterSecret.get()))
                : Optional.empty();
        this.client = new DecisionClient(settings, loops, resilience);
        this.cache = new VerdictCache(settings.cache(), settings.onFailure() == OnFailure.STALE);
        this.failures = new FailureLog(log, "Decision service '" + settings.name() + "'");
    }

    String name() {
        return settings.name();
    }

    DecisionServiceSettings settings() {
        return settings;
    }

    DecisionClient client() {
        return client;
    }

    VerdictCache cache() {
        return cache;
    }

    /** The answers shared with the other replicas, with {@code cache.scope: cluster}. */
    Optional<ClusterVerdicts> cluster() {
        return cluster;
    }

    /** What failed, in a few words, for the log and the audit line. */
    static String describe(Throwable error) {
        Throwable t = Exceptions.unwrap(error);
        if (t instanceof CallNotPermittedException) {
            return "circuit breaker open";
        }
        if (t instanceof BulkheadFullException) {
            return "bulkhead full (too many calls in flight)";
        }
        if (t instanceof TimeoutException || t instanceof DecisionFailedException || t instanceof MalformedAnswerException) {
            return t.getMessage();
        }
        if (t instanceof ConnectException) {
            return "cannot connect: " + t.getMessage();
        }
        if (t instanceof PrematureCloseException || t instanceof AbortedException) {
            return "connection closed before the answer";
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    /** What {@code on-failure} decides for a failed call about {@code key}, and who the audit line says decided. */
    Resolution onFailure(DecisionKey key, String what) {
        Resolution resolution = switch (settings.onFailure()) {
            case ACCEPT -> new Resolution(InspectAction.ACCEPT, Completion.fallback("failure", what));
            case REJECT -> new Resolution(InspectAction.REJECT, Completion.fallback("failure", what));
            case STALE -> {
                Optional<Decision> last = cache.lastKnown(key);
                yield last.isPresent()
                        ? new Resolution(last.get().action(), Completion.fallback("stale", what + "; last known answer"
                                + last.get().reason().map(r -> ": " + r).orElse("")).withRoute(last.get().route().orElse(null)))
                        : new Resolution(InspectAction.REJECT, Completion.fallback("failure", what + "; no last known answer"));
            }
        };
        failures.failed(what, "on-failure " + settings.onFailure().name().toLowerCase(Locale.ROOT)
                + " decides " + resolution.action().label());
        return resolution;
    }

    @Override
    public void close() {
        client.close();
    }

    /** An action and who decided it. */
    record Resolution(InspectAction action, Completion completion) {
    }
}
