package io.portcullis.core.relay;

import java.time.Duration;
import java.util.Objects;

/**
 * The active health check of a listener's backends: a TCP connect every {@code interval}, failing after
 * {@code timeout}; {@code fall} failures in a row mark a backend down, {@code rise} successes up again.
 */
public record HealthCheckSettings(boolean enabled, Duration interval, Duration timeout, int rise, int fall) {

    /**
     * Checks the bounds.
     *
     * @param enabled  false: never probe, every backend stays up
     * @param interval between probes, at least 100 ms
     * @param timeout  of one probe, 1 ms to the interval
     * @param rise     successes in a row that mark a backend up again, at least 1
     * @param fall     failures in a row that mark it down, at least 1
     * @throws IllegalArgumentException for a value out of range
     */
    public HealthCheckSettings {
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(timeout, "timeout");
        if (interval.toMillis() < 100) {
            throw new IllegalArgumentException("health-check interval must be at least 100ms: " + interval);
        }
        if (timeout.toMillis() < 1 || timeout.compareTo(interval) > 0) {
            throw new IllegalArgumentException("health-check timeout must be between 1ms and the interval: " + timeout);
        }
        if (rise < 1 || fall < 1) {
            throw new IllegalArgumentException("health-check rise and fall must be at least 1");
        }
    }

    /**
     * The contract's defaults: on, every 5 s, 1 s timeout, rise 2, fall 3.
     *
     * @return the settings
     */
    public static HealthCheckSettings defaults() {
        return new HealthCheckSettings(true, Duration.ofSeconds(5), Duration.ofSeconds(1), 2, 3);
    }
}
