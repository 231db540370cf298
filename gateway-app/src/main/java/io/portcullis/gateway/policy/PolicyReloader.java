package io.portcullis.gateway.policy;

import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyError;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.PolicyOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
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
 * <p>Files are polled by their real path (after symlinks), modification time and size. Polling rather
 * than inotify because it sees a Kubernetes ConfigMap's symlink swap, editors that replace files and
 * network file systems alike, and costs a few {@code stat} calls a tick. A change is reloaded once it has
 * held still for one tick, so a file caught half-written is not refused for nothing. A new policy that
 * does not validate is refused whole and the running one stays.
 *
 * <p>Polling and reloading run on one daemon thread of this class, never on an event loop.
 */
public final class PolicyReloader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PolicyReloader.class);

    /** What one reload did. */
    public record Result(boolean success, Optional<Policy> policy, List<String> errors) {

        static Result failure(List<String> errors) {
            return new Result(false, Optional.empty(), List.copyOf(errors));
        }
    }

    /** Told about every reload, for meters. */
    public interface Observer {
        void reloaded(boolean success);
    }

    private final PolicyEngine engine;
    private final Path rulesFile;
    private final PolicyOptions options;
    private final PolicyChecks checks;
    private final Observer observer;
    private final Duration interval;
    private ScheduledExecutorService scheduler;
    private List<FileState> loaded;
    private List<FileState> candidate;

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
        this.loaded = snapshot(engine.current());
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

    private void poll() {
        try {
            List<FileState> now = snapshotOf(pathsOf(engine.current()));
            synchronized (this) {
                if (now.equals(loaded)) {
                    candidate = null;
                } else if (now.equals(candidate)) {
                    reload();
                } else {
                    candidate = now;
                }
            }
        } catch (RuntimeException e) {
            log.warn("Checking {} for changes failed", rulesFile, e);
        }
    }

    /**
     * Reads, validates and, when valid, puts the policy in force at once. Any thread but an event loop;
     * reloads never overlap.
     */
    public synchronized Result reload() {
        candidate = null;
        Policy next;
        try {
            next = Policy.load(rulesFile, options);
        } catch (PolicyException e) {
            return refused(e.errors().stream().map(PolicyError::toString).toList(), snapshotOf(pathsFromError()));
        }
        List<String> problems = checks.problems(next);
        if (!problems.isEmpty()) {
            return refused(problems, snapshot(next));
        }
        engine.replace(next);
        loaded = snapshot(next);
        observer.reloaded(true);
        log.info("Policy reloaded from {}: {} listener(s), {} rule(s)", rulesFile, next.listenerNames().size(), next.ruleCount());
        return new Result(true, Optional.of(next), List.of());
    }

    private Result refused(List<String> errors, List<FileState> seen) {
        // Remember what was refused, so the same broken files are not reloaded again every tick.
        loaded = seen;
        observer.reloaded(false);
        log.error("Policy reload refused, the running policy stays:\n  {}", String.join("\n  ", errors));
        return Result.failure(errors);
    }

    /** After a refused file, watch the rules file and the list files of the policy still running. */
    private List<Path> pathsFromError() {
        return pathsOf(engine.current());
    }

    private List<Path> pathsOf(Policy policy) {
        List<Path> paths = new ArrayList<>();
        paths.add(rulesFile);
        for (Path p : policy.files()) {
            if (!paths.contains(p)) {
                paths.add(p);
            }
        }
        return paths;
    }

    private List<FileState> snapshot(Policy policy) {
        return snapshotOf(pathsOf(policy));
    }

    private static List<FileState> snapshotOf(List<Path> paths) {
        List<FileState> states = new ArrayList<>(paths.size());
        for (Path p : paths) {
            states.add(FileState.of(p));
        }
        return states;
    }

    @Override
    public synchronized void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler = null;
        }
    }

    /** What a poll compares: the file a path leads to now, its time and size (absent: all empty). */
    record FileState(Path path, String realPath, FileTime modified, long size) {

        static FileState of(Path path) {
            try {
                Path real = path.toRealPath();
                return new FileState(path, real.toString(), Files.getLastModifiedTime(real), Files.size(real));
            } catch (NoSuchFileException e) {
                return new FileState(path, "", FileTime.fromMillis(0), -1);
            } catch (IOException e) {
                return new FileState(path, "?" + e.getMessage(), FileTime.fromMillis(0), -1);
            }
        }
    }
}
