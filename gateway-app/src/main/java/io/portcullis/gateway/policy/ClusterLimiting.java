package io.portcullis.gateway.policy;

import io.portcullis.core.Completion;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.ListenerSettings;
import io.portcullis.core.Permit;
import io.portcullis.core.Verdict;
import io.portcullis.gateway.cluster.ClusterLimits;
import io.portcullis.gateway.decision.Completer;
import io.portcullis.gateway.decision.DecisionTrigger;
import io.portcullis.gateway.decision.FailureLog;
import io.portcullis.policy.ClusterStep;
import io.portcullis.policy.Evaluation;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.RateLimit;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code scope: cluster} limiters of the inspect handler: a connection whose evaluation stops at one
 * ({@link ClusterStep}) is pended ({@link #suspend}), the store is asked once the pend took effect ({@link #start}),
 * and its answer — on the store's thread — resumes the evaluation ({@link #answered}): to another store call, or to
 * the final verdict, which completes the pended inspection as a decision service's answer does (decided by
 * {@value #DECIDED_BY}), starts the decision of a later pend rule, or leaves a pend without a decision to the operator
 * and the deadline. A client that left before the answer gets nothing more evaluated, and whatever the store granted
 * it is released ({@link ClusterWait}). Thread-safe.
 */
final class ClusterLimiting {

    private static final Logger log = LoggerFactory.getLogger(ClusterLimiting.class);

    /** {@link Completion#decidedBy()} of completions by the cluster limiters, for the audit line. */
    static final String DECIDED_BY = "cluster-limit";

    /**
     * Added to the store's timeout per store call in a pend's deadline, so that the store's own timeout, and the
     * limiter's {@code on-store-failure}, decide a store that does not answer, not the listener's {@code on-timeout}.
     */
    static final Duration STORE_MARGIN = Duration.ofMillis(100);

    private final ClusterLimits limits;
    private final Duration storeTimeout;
    private final PolicyInspectHandler.VerdictCounter counter;
    private final DecisionTrigger decisions;
    private final PolicyInspectHandler.ClusterObserver observer;
    private final FailureLog storeFailures = new FailureLog(log, "Cluster store for scope: cluster limiters");
    private final FailureLog errors = new FailureLog(log, "Resuming a cluster limiter's evaluation");
    private volatile Completer completer = Completer.NONE;

    ClusterLimiting(ClusterLimits limits, Duration storeTimeout, PolicyInspectHandler.VerdictCounter counter,
                    DecisionTrigger decisions, PolicyInspectHandler.ClusterObserver observer) {
        this.limits = Objects.requireNonNull(limits, "limits");
        this.storeTimeout = Objects.requireNonNull(storeTimeout, "storeTimeout");
        if (storeTimeout.isNegative() || storeTimeout.isZero()) {
            throw new IllegalArgumentException("store timeout must be positive: " + storeTimeout);
        }
        this.counter = counter;
        this.decisions = decisions;
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    void completeThrough(Completer completer) {
        this.completer = Objects.requireNonNull(completer, "completer");
    }

    /**
     * The PEND verdict that holds a connection while the store is asked about {@code step}: its rule is the limiter
     * rule, it names no decision service, its permit is the {@link ClusterWait}, and its deadline leaves room for
     * every cluster limiter still ahead ({@link #deadline}). Event loop.
     */
    Verdict suspend(InspectRequest request, ClusterStep step) {
        ClusterWait wait = new ClusterWait(this, request, step);
        return new Verdict(InspectAction.PEND, step.rule(), Optional.empty(), Optional.of(deadline(request, step)), wait,
                Optional.empty());
    }

    /**
     * The store's timeout (plus {@link #STORE_MARGIN}) for each cluster limiter from {@code step} on, plus the
     * longest wait that may follow them: the longest {@code timeout} of a later pend rule, or the listener's inspect
     * timeout (a pend rule without a timeout, and {@code default: pend}, use it), whichever is longer. So the pend's
     * deadline never cuts short the wait of a decision service asked after the store answered.
     */
    Duration deadline(InspectRequest request, ClusterStep step) {
        Duration inspect = completer.inspectTimeout(request.listener()).orElse(ListenerSettings.DEFAULT_INSPECT_TIMEOUT);
        Duration after = step.longestLaterPendTimeout().filter(t -> t.compareTo(inspect) > 0).orElse(inspect);
        return storeTimeout.plus(STORE_MARGIN).multipliedBy(Math.max(1, step.clusterLimitersAhead())).plus(after);
    }

    /** The pend took effect: asks the store. Event loop; never blocks, never throws. */
    void start(ClusterWait wait) {
        wait.started(System.nanoTime());
        ask(wait, wait.step());
    }

    private void ask(ClusterWait wait, ClusterStep step) {
        CompletableFuture<?> call;
        try {
            if (step.settings() instanceof RateLimit rate) {
                call = limits.tryConsume(step.listener(), step.rule(), rate, step.key());
            } else {
                call = limits.tryAcquire(step.listener(), step.rule(), (ConcurrencyLimit) step.settings(), step.key());
            }
            if (call == null) {
                call = CompletableFuture.failedFuture(new IllegalStateException("the cluster store gave no answer"));
            }
        } catch (RuntimeException e) {
            call = CompletableFuture.failedFuture(e);
        }
        // Runs at once when the call already ended (then on this thread), else on the store's thread.
        call.whenComplete(wait);
    }

    /** The store answered {@code wait}'s current step (any thread): resumes its evaluation. */
    void answered(ClusterWait wait, Object answer, Throwable error) {
        ClusterStep step = wait.step();
        try {
            Optional<io.portcullis.policy.model.Permit> lease = Optional.empty();
            if (error == null && answer instanceof Optional<?> granted && granted.isPresent()) {
                lease = Optional.of(new OnceLease((io.portcullis.policy.model.Permit) granted.get()));
                // Held from now on, so that a client that left meanwhile, or leaves now, gives it back.
                wait.attach(lease.get());
            }
            if (wait.isClosed()) {
                // The client left: the holder released (or, attached after, releases) the lease; nothing more is asked.
                observer.clusterLimitWaited(step.listener(), System.nanoTime() - wait.startNanos());
                step.abandon();
                return;
            }
            Evaluation next;
            if (error != null || !(answer instanceof Boolean || answer instanceof Optional<?>)) {
                next = storeFailed(wait, step, error != null ? error
                        : new IllegalStateException("the cluster store answered " + answer));
            } else if (answer instanceof Boolean passed) {
                next = passed ? step.passed(io.portcullis.policy.model.Permit.NONE) : step.refused();
            } else {
                next = lease.isPresent() ? step.passed(lease.get()) : step.refused();
            }
            resolve(wait, next);
        } catch (RuntimeException e) {
            errors.failed(e.toString(), "rejecting the connection");
            log.debug("Resuming the evaluation of {} failed", wait, e);
            wait.release();
            complete(wait, InspectAction.REJECT, Completion.fallback(DECIDED_BY, "error: " + e));
        }
    }

    /**
     * A lease the store gave, released at most once: the holder, the evaluation (a later reject) and the final
     * verdict's permit may each come to release it, so the store is told once whichever comes first.
     */
    private static final class OnceLease implements io.portcullis.policy.model.Permit {

        private final io.portcullis.policy.model.Permit lease;
        private final AtomicBoolean released = new AtomicBoolean();

        OnceLease(io.portcullis.policy.model.Permit lease) {
            this.lease = lease;
        }

        @Override
        public void release() {
            if (released.compareAndSet(false, true)) {
                lease.release();
            }
        }
    }

    private Evaluation storeFailed(ClusterWait wait, ClusterStep step, Throwable error) {
        wait.markStoreFailed();
        observer.clusterFallback(step.listener(), step.rule(), step.onStoreFailure());
        storeFailures.failed(describe(error), "on-store-failure: " + step.onStoreFailure().label() + " (rule '"
                + step.rule() + "' of listener '" + step.listener() + "', and the connections after it)");
        return step.storeFailed();
    }

    private static String describe(Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
    }

    private void resolve(ClusterWait wait, Evaluation next) {
        if (next instanceof ClusterStep step) {
            wait.step(step);
            wait.attach(step.held());
            ask(wait, step);
            return;
        }
        io.portcullis.policy.model.Verdict verdict = ((Evaluation.Decided) next).verdict();
        InspectRequest request = wait.request();
        observer.clusterLimitWaited(request.listener(), System.nanoTime() - wait.startNanos());
        InspectAction action = PolicyInspectHandler.toCore(verdict.action());
        counter.verdict(request.listener(), verdict.rule(), action);
        wait.attach(verdict.permit());
        if (action == InspectAction.PEND) {
            if (verdict.decision().isPresent() && !wait.isClosed()) {
                // The holder already carries the permit; the decision completes the inspection through the gateway.
                // Asked from the store's thread: a client that leaves right now leaves a call that completes nothing.
                decisions.ask(request, new Verdict(InspectAction.PEND, verdict.rule(), verdict.decision(),
                        verdict.timeout(), Permit.NONE, verdict.route()));
            }
            // Without a decision service the pend stays for an operator, or its deadline.
            return;
        }
        String reason = verdict.reason().orElse("rule '" + verdict.rule() + "'");
        Completion completion = wait.storeFailed() ? Completion.fallback(DECIDED_BY, reason)
                : Completion.by(DECIDED_BY, reason);
        if (action == InspectAction.ACCEPT) {
            completion = completion.withRoute(verdict.route().orElse(null));
        }
        complete(wait, action, completion);
    }

    private void complete(ClusterWait wait, InspectAction action, Completion completion) {
        InspectRequest request = wait.request();
        try {
            completer.complete(request.listener(), request.id(), action, completion);
        } catch (RuntimeException e) {
            log.warn("Completing inspection {} of listener '{}' failed", request.id(), request.listener(), e);
        }
    }
}
