package io.portcullis.core.relay;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes a listener's backends with a TCP connect (then a reset, so no TIME_WAIT piles up here) and marks
 * them up or down in the {@link BackendPool} after {@code rise}/{@code fall} results in a row.
 *
 * <p>All of its work runs on one event loop, so its counters need no locks; a probe still in flight when
 * the next tick comes is not doubled.
 */
public final class BackendHealthChecker implements Runnable, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BackendHealthChecker.class);

    private final RelayAcceptHandler relay;
    private final BackendPool pool;
    /** The pool's name for meters and logs. */
    private final String poolName;
    private final HealthCheckSettings settings;
    private final EventLoop loop;
    private final int[] successes;
    private final int[] failures;
    private final boolean[] inFlight;
    private ScheduledFuture<?> ticks;

    /**
     * A checker of the relay's pool, not started.
     *
     * @param relay    whose pool to check, and whose way of connecting to use
     * @param settings interval, timeout, rise and fall
     * @param loop     where the probes run
     */
    public BackendHealthChecker(RelayAcceptHandler relay, HealthCheckSettings settings, EventLoop loop) {
        this(relay, relay.pool(), RelayObserver.DEFAULT_POOL, settings, loop);
    }

    /**
     * A checker of one pool of the relay (its default one or a named one), not started.
     *
     * @param relay    whose way of connecting to use
     * @param pool     the pool to check
     * @param poolName its name, for meters and logs
     * @param settings interval, timeout, rise and fall
     * @param loop     where the probes run
     */
    public BackendHealthChecker(RelayAcceptHandler relay, BackendPool pool, String poolName, HealthCheckSettings settings,
                                EventLoop loop) {
        this.relay = relay;
        this.pool = java.util.Objects.requireNonNull(pool, "pool");
        this.poolName = java.util.Objects.requireNonNull(poolName, "poolName");
        this.settings = settings;
        this.loop = loop;
        this.successes = new int[pool.size()];
        this.failures = new int[pool.size()];
        this.inFlight = new boolean[pool.size()];
    }

    /**
     * Reports every backend as up (the start state) and begins probing. Any thread.
     *
     * @return this checker
     */
    public BackendHealthChecker start() {
        for (int i = 0; i < pool.size(); i++) {
            relay.observer().backendHealth(relay.listener(), poolName, pool.label(i), pool.isUp(i));
        }
        if (settings.enabled()) {
            ticks = loop.scheduleWithFixedDelay(this, 0, settings.interval().toNanos(), TimeUnit.NANOSECONDS);
        }
        return this;
    }

    /** One round of probes. Event loop. */
    @Override
    public void run() {
        for (int i = 0; i < pool.size(); i++) {
            if (inFlight[i]) {
                continue;
            }
            inFlight[i] = true;
            int index = i;
            ChannelFuture probe;
            try {
                probe = relay.probe(loop, pool.backend(i), (int) settings.timeout().toMillis());
            } catch (RuntimeException e) {
                inFlight[i] = false;
                result(i, false);
                continue;
            }
            probe.addListener((ChannelFutureListener) f -> {
                inFlight[index] = false;
                if (f.isSuccess()) {
                    f.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                    f.channel().close();
                }
                result(index, f.isSuccess());
            });
        }
    }

    private void result(int i, boolean ok) {
        if (ok) {
            failures[i] = 0;
            successes[i]++;
            if (!pool.isUp(i) && successes[i] >= settings.rise()) {
                change(i, true);
            }
        } else {
            successes[i] = 0;
            failures[i]++;
            if (pool.isUp(i) && failures[i] >= settings.fall()) {
                change(i, false);
            }
        }
    }

    private void change(int i, boolean up) {
        if (pool.markUp(i, up)) {
            relay.observer().backendHealth(relay.listener(), poolName, pool.label(i), up);
            if (up) {
                log.info("Backend {} of pool '{}' of listener '{}' is up again", pool.label(i), poolName, relay.listener());
            } else {
                log.warn("Backend {} of pool '{}' of listener '{}' is down after {} failed checks{}", pool.label(i),
                        poolName, relay.listener(), settings.fall(),
                        pool.upCount() == 0 ? "; no backend of the pool is up, all are tried" : "");
            }
        }
    }

    @Override
    public void close() {
        if (ticks != null) {
            ticks.cancel(false);
        }
    }
}
