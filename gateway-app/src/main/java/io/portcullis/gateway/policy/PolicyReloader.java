package io.portcullis.gateway.policy;

import io.portcullis.policy.FileStamp;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyError;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.PolicyOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the running policy in step with its files: the rules file and every list file it names.
 *
 * <p>Files are polled by their real path (after symlinks), modification time and size ({@link FileStamp}).
 * Polling rather than inotify because it sees a Kubernetes ConfigMap's symlink swap, editors that replace
 * files and network file systems alike, and costs a few {@code stat} calls a tick. A change is reloaded
 * once it has held still for one tick, so a file caught half-written is not refused for nothing. A new
 * policy that does not validate is refused whole and the running one stays.
 *
 * <p>What a tick compares against is each file as it was <em>just before</em> the last reload read it
 * (the policy stamps its files before reading them). A reload whose files changed while it read them reads
 * them again before anything goes in force, so the rules and list files in force are always of one moment. The files watched are those of the last reload: after a refused one, every
 * file the refused policy names, missing list files included, so creating one retries.
 *
 * <p>Polling and reloading run on one daemon thread of this class, never on an event loop.
 */
public final class PolicyReloader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PolicyReloader.class);

    /** Reads of one reload at most, while its files keep changing under it. */
    static final int MAX_READS = 5;

    /** What one reload did. */
    public record Result(boolean success, Optional<Policy> policy, List<String> errors) {

        static Result failure(List<String> errors) {
            return new Result(false, Optional.empty(), List.copyOf(errors));
        }
    }

    /** Told about every reload, for meters. */
    public interface Observer {
        void reloaded(boolean success);

        /** A new policy is in force (after {@link #reloaded}); on the reloading thread. */
        default void replaced(Policy next) {
        }
    }

    private final PolicyEngine engine;
    private final Path rulesFile;
    private final PolicyOptions options;
    private final PolicyChecks checks;
    private final Observer observer;
    private final Duration interval;
    private ScheduledExecutorService scheduler;
    /** The watched files as the last reload (or the start) found them just before reading them. */
    private List<FileStamp> loaded;
    /** The watched files as the last tick found them, when that differed from {@link #loaded}. */
    private List<FileStamp> candidate;

    /**
     * @param checks   what every accepted policy must fit (the same as at start)
     * @param interval how often files are checked; a change is in force within about two intervals
     */
    public PolicyReloader(PolicyEngine engine, Path rulesFile, PolicyOptions options, PolicyChecks checks,
                          Observer observer, Duration interval) {
        this.engine = Objects.requireNonNull(engine);
        this.rulesFile = Objects.requireNonNull(rulesFile);
        this.options = Objects.requireNonNull(options);
        this.checks = Objects.requireNonNull(checks);
        this.observer = Objects.requireNonNull(observer);
        this.interval = Objects.requireNonNull(interval);
        this.loaded = watched(engine.current().fileStamps());
    }

    /** Starts watching. Any thread. */
    public synchronized void start() {
        if (scheduler != null) {
            return;
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "portcullis-policy-watch");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        log.info("Watching {} (and its list files) for changes every {} ms", rulesFile, interval.toMillis());
    }

    private synchronized void poll() {
        try {
            List<FileStamp> now = loaded.stream().map(FileStamp::now).toList();
            if (now.equals(loaded)) {
                candidate = null;
            } else if (now.equals(candidate)) {
                reload();
            } else {
                candidate = now;
            }
        } catch (RuntimeException e) {
            log.warn("Checking {} for changes failed", rulesFile, e);
        }
    }

    /**
     * Reads, validates and, when valid, puts the policy in force at once. Any thread but an event loop;
     * reloads never overlap.
     *
     * <p>Files that changed while they were read are read again (at most {@link #MAX_READS} times): the rules
     * of one ConfigMap version and a list file of the next (its {@code ..data} swapped in between) would be a
     * policy that neither version is, and must never be in force, not even until the next check.
     */
    public synchronized Result reload() {
        candidate = null;
        for (int read = 1; ; read++) {
            Policy next;
            try {
                next = Policy.load(rulesFile, options);
            } catch (PolicyException e) {
                if (read < MAX_READS && changed(e.files())) {
                    continue;
                }
                return refused(e.errors().stream().map(PolicyError::toString).toList(), watched(e.files()));
            }
            if (changed(next.fileStamps())) {
                if (read < MAX_READS) {
                    continue;
                }
                // Still changing: keep the running policy and what was loaded, so the next check tries again.
                observer.reloaded(false);
                String error = rulesFile + ": the policy files changed while they were read, " + MAX_READS
                        + " times in a row; the running policy stays, the next check reads them again";
                log.warn(error);
                return Result.failure(List.of(error));
            }
            List<String> problems = checks.problems(next);
            if (!problems.isEmpty()) {
                return refused(problems, watched(next.fileStamps()));
            }
            engine.replace(next);
            loaded = watched(next.fileStamps());
            observer.reloaded(true);
            try {
                observer.replaced(next);
            } catch (RuntimeException e) {
                log.warn("Applying the reloaded policy beyond the inspections failed", e);
            }
            log.info("Policy reloaded from {}: {} listener(s), {} rule(s)", rulesFile, next.listenerNames().size(), next.ruleCount());
            return new Result(true, Optional.of(next), List.of());
        }
    }

    /** Whether any file differs now from its stamp taken just before it was read. */
    private static boolean changed(List<FileStamp> stamps) {
        return stamps.stream().anyMatch(stamp -> !stamp.equals(stamp.now()));
    }

    private Result refused(List<String> errors, List<FileStamp> named) {
        // Remember what was refused, so the same broken files are not reloaded again every tick, and watch
        // every file it names: one that appears or changes (a missing list file created) retries.
        loaded = named;
        observer.reloaded(false);
        log.error("Policy reload refused, the running policy stays:\n  {}", String.join("\n  ", errors));
        return Result.failure(errors);
    }

    /** The files to watch: {@code stamps}, and the rules file (stamped now) if they do not name it. */
    private List<FileStamp> watched(List<FileStamp> stamps) {
        Path rules = rulesFile.toAbsolutePath().normalize();
        if (stamps.stream().anyMatch(stamp -> stamp.path().equals(rules))) {
            return stamps;
        }
        List<FileStamp> all = new ArrayList<>(stamps.size() + 1);
        all.add(FileStamp.of(rules));
        all.addAll(stamps);
        return all;
    }

    @Override
    public synchronized void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler = null;
        }
    }
}
