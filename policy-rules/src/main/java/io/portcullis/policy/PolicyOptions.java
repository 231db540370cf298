package io.portcullis.policy;

import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.rule.MatchType;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * How a policy is compiled, beyond its text. Immutable; start from {@link #defaults()} and change
 * what you need with the {@code with…} methods.
 *
 * <ul>
 *   <li>{@link #limiters()}: where limiter state lives. A gateway passes the same registry on every
 *       reload so that limits survive it; without one, each compile gets a fresh registry.</li>
 *   <li>{@link #clock()}: "now" for {@code time} windows (the system clock; tests pass a fixed one).</li>
 *   <li>{@link #baseDirectory()}: where relative {@code {file: …}} list paths start for
 *       {@code Policy.parse} (the working directory unless set). {@code Policy.load} always uses the
 *       rules file's directory.</li>
 *   <li>{@link #matchTypes()}: custom condition kinds; by default those found by {@link ServiceLoader}.</li>
 * </ul>
 */
public final class PolicyOptions {

    private static final PolicyOptions DEFAULTS = new PolicyOptions(null, Clock.systemUTC(), null, null);

    private final LimiterRegistry limiters;
    private final Clock clock;
    private final Path baseDirectory;
    private final List<MatchType> matchTypes;

    private PolicyOptions(LimiterRegistry limiters, Clock clock, Path baseDirectory, List<MatchType> matchTypes) {
        this.limiters = limiters;
        this.clock = clock;
        this.baseDirectory = baseDirectory;
        this.matchTypes = matchTypes;
    }

    /** No registry (a fresh one per compile), the system clock, match types from the service loader. */
    public static PolicyOptions defaults() {
        return DEFAULTS;
    }

    public PolicyOptions withLimiters(LimiterRegistry limiters) {
        return new PolicyOptions(Objects.requireNonNull(limiters, "limiters"), clock, baseDirectory, matchTypes);
    }

    public PolicyOptions withClock(Clock clock) {
        return new PolicyOptions(limiters, Objects.requireNonNull(clock, "clock"), baseDirectory, matchTypes);
    }

    public PolicyOptions withBaseDirectory(Path baseDirectory) {
        return new PolicyOptions(limiters, clock, Objects.requireNonNull(baseDirectory, "baseDirectory"), matchTypes);
    }

    /** Exactly these custom match types (instead of the service loader's). */
    public PolicyOptions withMatchTypes(List<MatchType> matchTypes) {
        return new PolicyOptions(limiters, clock, baseDirectory, List.copyOf(matchTypes));
    }

    /** The registry given; empty means "a fresh registry for each compile". */
    public Optional<LimiterRegistry> limiters() {
        return Optional.ofNullable(limiters);
    }

    public Clock clock() {
        return clock;
    }

    public Optional<Path> baseDirectory() {
        return Optional.ofNullable(baseDirectory);
    }

    /** The custom match types: those given, else every {@link MatchType} the service loader finds now. */
    public List<MatchType> matchTypes() {
        if (matchTypes != null) {
            return matchTypes;
        }
        return ServiceLoader.load(MatchType.class).stream().map(ServiceLoader.Provider::get).toList();
    }
}
