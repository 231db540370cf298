package io.portcullis.core.relay;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.portcullis.core.AcceptHandler;
import io.portcullis.core.AcceptedConnection;
import io.portcullis.core.EventLoops;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.PipelineNames;
import io.portcullis.core.Transport;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default {@link AcceptHandler}: relays every accepted connection to a backend of its pool, trying
 * the next backend when one refuses or does not answer within the connect timeout, and closing the
 * client when none can be reached.
 *
 * <p>Named pools: a connection whose {@link AcceptedConnection#route()} names one of {@link #pools()} is relayed
 * to that pool instead of the default one. A route that names no pool is refused: the client gets a reset and
 * the listener counts the refusal (the code that sets routes should check them against the pools first).
 *
 * <p>The backend channel runs on the client's event loop, so one thread owns both sides of a relay.
 * The listener must therefore run on the same {@link EventLoops} as this handler. Host-name backends
 * are resolved with Netty's asynchronous DNS resolver, never on the event loop with a blocking lookup.
 *
 * <p>Client pipeline while relaying: {@code portcullis-relay}; backend pipeline: its twin. The relay keeps
 * its own idle timer (see {@link Relay}).
 */
public final class RelayAcceptHandler implements AcceptHandler {

    private static final Logger log = LoggerFactory.getLogger(RelayAcceptHandler.class);

    /** As on the listener's client channels: past 64 KiB queued a side stops reading its peer. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    private final String listener;
    private final BackendPool pool;
    private final Map<String, BackendPool> pools;
    private final AtomicBoolean unknownRouteSaid = new AtomicBoolean();
    private final RelaySettings settings;
    private final RelayObserver observer;
    private final Bootstrap bootstrap;
    private final Bootstrap bootstrapV4;
    private final BackendConnector connector;
    /** Relays from their start to their close, so that the end of a shutdown grace can reset them. */
    private final Set<Relay> open = ConcurrentHashMap.newKeySet();

    /**
     * @param listener name of the listener this handler serves, for meters and logs
     * @param pool     the backends
     * @param settings connect and idle timeouts
     * @param loops    the loops the listener runs on; backend channels are of their transport
     * @param observer told of bytes, relays and backend failures, for meters
     */
    public RelayAcceptHandler(String listener, BackendPool pool, RelaySettings settings, EventLoops loops,
                              RelayObserver observer) {
        this(listener, pool, Map.of(), settings, loops, observer);
    }

    /**
     * A handler with named pools besides the default one.
     *
     * @param listener name of the listener this handler serves, for meters and logs
     * @param pool     the default backends: for connections without a route
     * @param pools    the named pools a route may choose (it may hold {@code pool} too, under a name of its own)
     * @param settings connect and idle timeouts
     * @param loops    the loops the listener runs on; backend channels are of their transport
     * @param observer told of bytes, relays and backend failures, for meters
     */
    public RelayAcceptHandler(String listener, BackendPool pool, Map<String, BackendPool> pools, RelaySettings settings,
                              EventLoops loops, RelayObserver observer) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.pools = Map.copyOf(pools);
        this.settings = Objects.requireNonNull(settings, "settings");
        this.observer = Objects.requireNonNull(observer, "observer");
        int connectMillis = (int) settings.connectTimeout().toMillis();
        Bootstrap b = options(new Bootstrap().channel(loops.channelType()), connectMillis);
        if (pool.hasUnresolved() || this.pools.values().stream().anyMatch(BackendPool::hasUnresolved)) {
            b.resolver(new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                    .datagramChannelType(loops.datagramChannelType())
                    .queryTimeoutMillis(connectMillis)));
        } else {
            // Every backend is an IP literal: nothing to resolve, and nothing may ever block the loop.
            b.disableResolver();
        }
        this.bootstrap = b;
        // An IPv4 backend gets an IPv4 socket where the transport lets us choose (epoll): the default dual-stack
        // socket costs an IPV6_V6ONLY setsockopt per connection. Only resolved addresses take it.
        ChannelFactory<EpollSocketChannel> v4 = () -> new EpollSocketChannel(SocketProtocolFamily.INET);
        this.bootstrapV4 = loops.transport() == Transport.EPOLL
                ? options(new Bootstrap().channelFactory(v4), connectMillis).disableResolver()
                : b;
        this.connector = this::bootstrapConnect;
    }

    /** For tests: relays reach their backends through {@code connector}. No bootstraps, so no health probes. */
    RelayAcceptHandler(String listener, BackendPool pool, RelaySettings settings, RelayObserver observer,
                       BackendConnector connector) {
        this(listener, pool, Map.of(), settings, observer, connector);
    }

    /** For tests, with named pools. */
    RelayAcceptHandler(String listener, BackendPool pool, Map<String, BackendPool> pools, RelaySettings settings,
                       RelayObserver observer, BackendConnector connector) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.pools = Map.copyOf(pools);
        this.settings = Objects.requireNonNull(settings, "settings");
        this.observer = Objects.requireNonNull(observer, "observer");
        this.connector = Objects.requireNonNull(connector, "connector");
        this.bootstrap = null;
        this.bootstrapV4 = null;
    }

    private static Bootstrap options(Bootstrap b, int connectMillis) {
        return b.option(ChannelOption.AUTO_READ, false)
                // No TCP_NODELAY: every transport sets it on every socket already; again is a syscall more.
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectMillis)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK);
    }

    /** Starts relaying {@code connection}. Event loop of the connection, as the listener calls it. */
    @Override
    public boolean accepted(AcceptedConnection connection) {
        Channel client = connection.channel();
        if (!client.isActive()) {
            connection.close();
            return true;
        }
        BackendPool target = pool;
        Optional<String> route = connection.route();
        if (route.isPresent()) {
            target = pools.get(route.get());
            if (target == null) {
                refuseUnknownRoute(connection, route.get());
                return false;
            }
        }
        Relay relay = new Relay(this, target, client, connection.request());
        client.pipeline().addLast(PipelineNames.RELAY, relay.clientSide());
        relay.start(connection.takeEarlyData(), target.first(connection.request()),
                ProxyHeaderOut.of(settings.sendProxy(), connection.request()));
        return true;
    }

    /**
     * Resets every relay still open: client and backend get a reset, not a FIN, so that a stream cut short never
     * looks complete to either end. For the end of a shutdown grace. Any thread; each reset runs on its relay's
     * event loop, after this call returns.
     *
     * @return the relays that were open
     */
    public int resetAll() {
        int n = 0;
        for (Relay relay : open) {
            relay.resetLater();
            n++;
        }
        return n;
    }

    /**
     * Judges every open relay again: {@code judge} gives the name of the rule that rejects its connection now, or
     * null to leave it alone. Each one rejected is told to {@code observer} and, when {@code reset}, reset on both
     * sides (a stream cut short must not look complete). Runs on the relays' event loops, at most
     * {@value #RECHECK_BATCH} relays a turn, so that their I/O goes on in between. Any thread.
     *
     * @param judge    on the relay's event loop; must not block. Its exception leaves the relay alone.
     * @param reset    false: only tell the observer what would be reset
     * @param observer on the relay's event loop
     * @return completes with what was checked and rejected once every loop is through
     */
    public CompletableFuture<Recheck> recheck(Function<InspectRequest, String> judge, boolean reset,
                                              RecheckObserver observer) {
        Map<EventLoop, List<Relay>> byLoop = new HashMap<>();
        for (Relay relay : open) {
            if (relay.request() != null) {
                byLoop.computeIfAbsent(relay.clientChannel().eventLoop(), l -> new ArrayList<>()).add(relay);
            }
        }
        List<CompletableFuture<Recheck>> parts = new ArrayList<>();
        byLoop.forEach((loop, relays) -> {
            RecheckRun run = new RecheckRun(loop, relays, judge, reset, observer);
            parts.add(run.done);
            run.next();
        });
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> parts.stream().map(CompletableFuture::join).reduce(Recheck.NONE, Recheck::plus));
    }

    /** Relays rechecked per event-loop turn. */
    static final int RECHECK_BATCH = 256;

    /**
     * What a recheck did.
     *
     * @param checked  relays judged
     * @param rejected those the judge rejected (reset, unless only logged)
     */
    public record Recheck(int checked, int rejected) {

        /** Nothing checked. */
        public static final Recheck NONE = new Recheck(0, 0);

        Recheck plus(Recheck other) {
            return new Recheck(checked + other.checked, rejected + other.rejected);
        }
    }

    /** Told of each relay a recheck rejects, on its event loop. */
    @FunctionalInterface
    public interface RecheckObserver {
        /**
         * @param request the connection's inspection
         * @param rule    the rule that rejects it now
         * @param reset   whether it is reset (false: the recheck only logs)
         */
        void rejected(InspectRequest request, String rule, boolean reset);
    }

    /** One event loop's share of a recheck, a batch a turn. */
    private static final class RecheckRun implements Runnable {
        private final EventLoop loop;
        private final List<Relay> relays;
        private final Function<InspectRequest, String> judge;
        private final boolean reset;
        private final RecheckObserver observer;
        final CompletableFuture<Recheck> done = new CompletableFuture<>();
        private int at;
        private int checked;
        private int rejected;
        private int failures;

        RecheckRun(EventLoop loop, List<Relay> relays, Function<InspectRequest, String> judge, boolean reset,
                   RecheckObserver observer) {
            this.loop = loop;
            this.relays = relays;
            this.judge = judge;
            this.reset = reset;
            this.observer = observer;
        }

        /** The next batch, on the loop: scheduled, not executed, so that the loop's I/O runs before it. */
        void next() {
            try {
                loop.schedule(this, 0, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                done.complete(new Recheck(checked, rejected)); // the loop is shutting down with its relays
            }
        }

        @Override
        public void run() {
            int end = Math.min(relays.size(), at + RECHECK_BATCH);
            for (; at < end; at++) {
                Relay relay = relays.get(at);
                if (relay.state() == Relay.State.CLOSED) {
                    continue;
                }
                checked++;
                String rule;
                try {
                    rule = judge.apply(relay.request());
                } catch (RuntimeException e) {
                    if (failures++ == 0) { // one line a run, not one per connection
                        log.warn("Recheck of {} failed; such connections stay", relay.request(), e);
                    }
                    continue;
                }
                if (rule == null) {
                    continue;
                }
                rejected++;
                try {
                    observer.rejected(relay.request(), rule, reset);
                } catch (RuntimeException e) {
                    log.warn("Recheck observer failed", e);
                }
                if (reset) {
                    relay.reset();
                }
            }
            if (at < relays.size()) {
                next();
            } else {
                done.complete(new Recheck(checked, rejected));
            }
        }
    }

    void opened(Relay relay) {
        open.add(relay);
    }

    void closed(Relay relay) {
        open.remove(relay);
    }

    /** A reset, not a FIN: the client must not take a close for an answer. The listener counts the refusal. */
    private void refuseUnknownRoute(AcceptedConnection connection, String route) {
        if (!unknownRouteSaid.getAndSet(true)) {
            log.warn("Listener '{}': route '{}' names no backend pool (pools: {}); such connections are reset",
                    listener, route, new java.util.TreeSet<>(pools.keySet()));
        } else {
            log.debug("Listener '{}': route '{}' names no backend pool; resetting {}", listener, route, connection);
        }
        connection.channel().config().setOption(ChannelOption.SO_LINGER, 0);
    }

    /**
     * The listener this handler serves.
     *
     * @return its name
     */
    public String listener() {
        return listener;
    }

    /**
     * The backends.
     *
     * @return the pool
     */
    public BackendPool pool() {
        return pool;
    }

    /**
     * The named pools a route may choose.
     *
     * @return them by name, unmodifiable
     */
    public Map<String, BackendPool> pools() {
        return pools;
    }

    /**
     * The relays' timeouts.
     *
     * @return the settings
     */
    public RelaySettings settings() {
        return settings;
    }

    RelayObserver observer() {
        return observer;
    }

    ChannelFuture connect(EventLoop loop, ChannelHandler handler, InetSocketAddress backend) {
        return connector.connect(loop, handler, backend);
    }

    private ChannelFuture bootstrapConnect(EventLoop loop, ChannelHandler handler, InetSocketAddress backend) {
        return bootstrapFor(backend).clone(loop).handler(handler).connect(backend);
    }

    /** A health probe: the relay's own way of connecting (resolver, transport), with the probe's timeout. */
    ChannelFuture probe(EventLoop loop, InetSocketAddress backend, int timeoutMillis) {
        return bootstrapFor(backend).clone(loop).handler(new ChannelInboundHandlerAdapter())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis).connect(backend);
    }

    private Bootstrap bootstrapFor(InetSocketAddress backend) {
        return backend.getAddress() instanceof Inet4Address ? bootstrapV4 : bootstrap;
    }
}
