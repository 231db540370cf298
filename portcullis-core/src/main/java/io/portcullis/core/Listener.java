package io.portcullis.core;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ipfilter.IpSubnetFilterRule;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listening socket with conditional accept (WSK's listening socket with {@code SO_CONDITIONAL_ACCEPT}).
 *
 * <p>Each connection is inspected once by the {@link InspectHandler} before it is accepted; a pended
 * one waits, without a backend, until {@link #inspectComplete}, its deadline or the client leaving.
 * Accepted connections go to the {@link AcceptHandler} (push) or wait for {@link #accept()} (pull).
 * Usable without Spring: build one with {@link #builder(String)}.
 */
public final class Listener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Listener.class);
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    private final ListenerSettings settings;
    private final InspectHandler inspectHandler;
    private final AbortHandler abortHandler;
    private final AcceptHandler acceptHandler;
    private final PullAcceptQueue pullQueue;
    private final ListenerObserver observer;
    private final EventLoops loops;
    private final boolean ownsLoops;
    private final ByteBufAllocator allocator;
    private final ConcurrentHashMap<InspectId, InspectionHandler> pending = new ConcurrentHashMap<>();
    private final AtomicInteger pendingSlots = new AtomicInteger();
    private final AtomicBoolean earlyCompletionSaid = new AtomicBoolean();
    private volatile Channel serverChannel;
    private volatile SourceFilterState filterState = SourceFilterState.NONE;

    private Listener(Builder b) {
        this.settings = b.settings();
        this.inspectHandler = b.inspectHandler;
        this.abortHandler = b.abortHandler;
        this.observer = b.observer;
        this.loops = b.loops != null ? b.loops : EventLoops.create(b.workerThreads);
        this.ownsLoops = b.loops == null;
        this.allocator = b.allocator;
        if (b.acceptHandler != null) {
            this.acceptHandler = b.acceptHandler;
            this.pullQueue = null;
        } else {
            this.pullQueue = new PullAcceptQueue(b.name, b.maxUnclaimed, b.maxAcceptWaiters, b.unclaimedTimeout, b.observer);
            this.acceptHandler = pullQueue;
        }
    }

    /**
     * Starts building a listener; every setting has the contract's default.
     *
     * @param name the listener's name, as requests, meters and logs carry it
     * @return the builder
     */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /**
     * Binds the listening socket, waiting at most 10 s. Any thread but an event loop.
     *
     * @return this listener, bound
     * @throws IllegalStateException when the address cannot be bound, with the reason
     */
    public Listener start() {
        List<IpSubnetFilterRule> trustRules = settings.peek().trustRules();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loops.workers())
                .channel(loops.serverChannelType())
                .option(ChannelOption.SO_BACKLOG, settings.acceptBacklog())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                // No TCP_NODELAY here: every transport sets it on every socket already; again is a syscall more.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        initConnection(ch, trustRules);
                    }
                });
        if (allocator != ByteBufAllocator.DEFAULT) {
            bootstrap.childOption(ChannelOption.ALLOCATOR, allocator);
        }
        ChannelFuture bind = bootstrap.bind(settings.bind());
        if (!bind.awaitUninterruptibly(10_000)) {
            bind.cancel(false);
            throw new IllegalStateException("listener '" + settings.name() + "': bind to " + settings.bind() + " timed out");
        }
        if (!bind.isSuccess()) {
            throw new IllegalStateException("listener '" + settings.name() + "': cannot bind " + settings.bind()
                    + ": " + bind.cause().getMessage(), bind.cause());
        }
        serverChannel = bind.channel();
        // After Netty's acceptor (added when the channel registered, on its event loop, before the bind ran there).
        serverChannel.pipeline().addLast(PipelineNames.ACCEPT_ERRORS, new AcceptErrors(settings.name()));
        log.info("Listener '{}' on {} ({}, conditional accept {})", settings.name(), localAddress(),
                loops.transportName(), settings.conditionalAccept() ? "on" : "off");
        return this;
    }

    /** A new connection's handlers, before its first read. */
    void initConnection(Channel ch, List<IpSubnetFilterRule> trustRules) {
        // Per channel, before the first read: caps reads while early bytes are held (EarlyBytes).
        ch.config().setRecvByteBufAllocator(new CappedReads());
        PeekSettings peek = settings.peek();
        if (peek.peeks()) {
            ch.pipeline().addLast(PipelineNames.PEEK_GUARD, new PeekGuard(peek, trustRules));
            if (peek.tls()) {
                ch.pipeline().addLast(PipelineNames.TLS_PEEK, new TlsPeek(peek.maxBytes()));
            }
        }
        ch.pipeline().addLast(PipelineNames.INSPECTION, new InspectionHandler(this));
    }

    /**
     * Whether the listening socket is open. Any thread.
     *
     * @return true between {@link #start()} and {@link #stopAccepting()}
     */
    public boolean isBound() {
        Channel ch = serverChannel;
        return ch != null && ch.isActive();
    }

    /**
     * The bound address. Any thread, after {@link #start()}.
     *
     * @return the address, with the real port when port 0 was asked for
     * @throws IllegalStateException before {@link #start()}
     */
    public InetSocketAddress localAddress() {
        Channel ch = serverChannel;
        if (ch == null) {
            throw new IllegalStateException("listener '" + settings.name() + "' is not started");
        }
        return (InetSocketAddress) ch.localAddress();
    }

    /**
     * Ends a pended inspection with ACCEPT or REJECT (WSK's {@code WskInspectComplete}). Any thread;
     * the action runs on the connection's event loop, after this call returns.
     *
     * <p>Only a pended inspection can be completed: one whose inspect handler answered PEND and that got a
     * pending slot. Start the work that completes it from {@link InspectHandler#pended}, which runs once the
     * inspection is pended; a completion before that (from inside {@code inspect}, or racing it from another
     * thread) finds nothing to complete and returns false.
     *
     * @return true when this call decided the inspection; false when it is not pended: not yet, no longer
     *     (completed, timed out, aborted), never (accepted or rejected at once, refused for overflow), or the
     *     id is unknown here
     * @param id     the inspection, as {@link InspectHandler#pended} was given it
     * @param action {@link InspectAction#ACCEPT} or {@link InspectAction#REJECT}
     * @throws IllegalArgumentException for {@link InspectAction#PEND}
     */
    public boolean inspectComplete(InspectId id, InspectAction action) {
        return inspectComplete(id, action, Completion.CALLER);
    }

    /**
     * As {@link #inspectComplete(InspectId, InspectAction)}, saying who decided and why (for the audit line).
     * Any thread.
     *
     * @param id         the inspection
     * @param action     {@link InspectAction#ACCEPT} or {@link InspectAction#REJECT}
     * @param completion who decided and why; {@link Completion#fallback} counts the pend as a failure
     * @return true when this call decided the inspection
     * @throws IllegalArgumentException for {@link InspectAction#PEND}
     */
    public boolean inspectComplete(InspectId id, InspectAction action, Completion completion) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(completion, "completion");
        if (action != InspectAction.ACCEPT && action != InspectAction.REJECT) {
            throw new IllegalArgumentException("an inspection completes with ACCEPT or REJECT, not " + action);
        }
        InspectionHandler inspection = pending.get(id);
        return inspection != null && inspection.complete(action, completion);
    }

    /**
     * Pull accept: the next accepted connection. Any thread. The future is always completed on the
     * connection's event loop, also when a connection was already queued, so a stage attached before it
     * completes runs there and may call {@link AcceptedConnection#takeEarlyData()}; a stage attached later
     * runs on the attaching thread: give it the loop, {@code thenAcceptAsync(fn, loop)}, or hop with
     * {@code connection.channel().eventLoop().execute(...)}. It fails when the listener closes, or at once
     * when the listener has an {@link AcceptHandler} (push) or too many calls are already waiting.
     *
     * @return the next accepted connection, once there is one
     */
    public CompletableFuture<AcceptedConnection> accept() {
        if (pullQueue == null) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "listener '" + settings.name() + "' pushes connections to its accept handler"));
        }
        return pullQueue.take();
    }

    /**
     * Pended inspections held now. Any thread.
     *
     * @return how many of the listener's {@code max-pending} slots are taken
     */
    public int pendingCount() {
        return pendingSlots.get();
    }

    /**
     * A snapshot of the pended inspections, in no particular order. Any thread.
     *
     * @return what is pended now; an inspection may end right after
     */
    public List<PendingInspection> pending() {
        long now = System.nanoTime();
        List<PendingInspection> out = new ArrayList<>(pending.size());
        for (InspectionHandler h : pending.values()) {
            long since = h.pendingSince();
            if (since != 0) {
                out.add(new PendingInspection(h.request(), h.rule(), Duration.ofNanos(now - since), h.heldBytes(), h.inputShut(),
                        h.route(), h.pendTimeout()));
            }
        }
        return out;
    }

    /**
     * Whether the inspection {@code id} is held here now, being inspected or pended. Any thread.
     *
     * @param id the inspection
     * @return true while it is; it may end right after
     */
    public boolean isPending(InspectId id) {
        return pending.containsKey(Objects.requireNonNull(id, "id"));
    }

    /**
     * What this listener was built with.
     *
     * @return its settings
     */
    public ListenerSettings settings() {
        return settings;
    }

    /**
     * The listener's name, as requests, meters and logs carry it.
     *
     * @return the name
     */
    public String name() {
        return settings.name();
    }

    /**
     * The loops this listener runs on; backend connections use them too.
     *
     * @return the event loops
     */
    public EventLoops eventLoops() {
        return loops;
    }

    /**
     * Puts {@code filter} on the listening socket, in place of the one there: the kernel then drops SYNs from its
     * ranges before it answers them. An empty filter removes the one there. Where the transport has no file
     * descriptor to give (NIO) or the kernel refuses, nothing changes on the socket and the state says why; the
     * rules still reject those sources after the handshake. Any thread; calls do not overlap.
     *
     * <p>Sockets accepted before keep the filter they were accepted under (the kernel copies it to each accepted
     * socket); every one of them came from a source that filter let through, so a new filter never stalls one.
     *
     * @param filter the ranges to drop; empty to drop none
     * @return what is in the kernel now
     */
    public synchronized SourceFilterState filterSources(SourceFilter filter) {
        Channel ch = serverChannel;
        SourceFilterState now;
        if (ch == null || !ch.isOpen()) {
            now = filter.isEmpty() ? SourceFilterState.NONE : SourceFilterState.failed(filter, "the listener is not bound");
        } else if (loops.transport() == Transport.NIO) {
            now = filter.isEmpty() ? SourceFilterState.NONE : SourceFilterState.failed(filter,
                    "transport nio gives no socket to filter; use epoll or io_uring");
        } else {
            try {
                if (filter.isEmpty()) {
                    if (filterState.attached()) {
                        SocketFilters.detach(ch);
                    }
                    now = SourceFilterState.NONE;
                } else {
                    SocketFilters.attach(ch, filter);
                    now = SourceFilterState.attached(filter);
                }
            } catch (RuntimeException e) {
                // The socket keeps the filter it had; say that one is still attached.
                String why = "the kernel refused the socket filter: " + e.getMessage();
                now = filterState.attached()
                        ? new SourceFilterState(true, filterState.ranges(), filter.rangesAsked(),
                        filterState.instructions(), Optional.of(why + " (the previous filter stays)"))
                        : SourceFilterState.failed(filter, why);
            }
        }
        filterState = now;
        return now;
    }

    /**
     * What {@link #filterSources} last put in the kernel. Any thread.
     *
     * @return the state; {@link SourceFilterState#NONE} when no filter was asked for
     */
    public SourceFilterState sourceFilterState() {
        return filterState;
    }

    /**
     * Connection attempts the kernel dropped before this listener saw them: SYNs refused by the source filter
     * ({@link #filterSources}) and SYNs a full accept queue turned away, counted as packets (a client's
     * retransmitted SYNs count each). The socket's own counter, read with one system call; it wraps at 2^32. Any
     * thread.
     *
     * @return the count since the socket was bound; empty on NIO or when the listener is not bound
     */
    public OptionalLong kernelDrops() {
        Channel ch = serverChannel;
        if (ch == null || !ch.isOpen() || loops.transport() == Transport.NIO) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(SocketFilters.drops(ch));
        } catch (RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * The first step of a graceful stop: closes the listening socket (new clients are refused by the
     * kernel) and ends every pended inspection with the listener's {@code on-timeout} action (abort event
     * {@link AbortReason#LISTENER_CLOSED}). Relays keep running. Any thread but an event loop; repeatable.
     */
    public void stopAccepting() {
        Channel ch = serverChannel;
        if (ch != null) {
            ch.close().awaitUninterruptibly(5_000);
        }
        for (InspectionHandler h : pending.values()) {
            h.listenerClosed();
        }
    }

    /**
     * Stops accepting, ends pended inspections per {@code on-timeout} (see {@link #stopAccepting()}),
     * fails waiting {@link #accept()} calls. Relayed connections are left to run unless this listener
     * owns its event loops, which then shut down. Any thread but an event loop.
     */
    @Override
    public void close() {
        stopAccepting();
        if (pullQueue != null) {
            pullQueue.close();
        }
        if (ownsLoops) {
            loops.close();
        }
    }

    InspectHandler inspectHandler() {
        return inspectHandler;
    }

    AbortHandler abortHandler() {
        return abortHandler;
    }

    AcceptHandler acceptHandler() {
        return acceptHandler;
    }

    ListenerObserver observer() {
        return observer;
    }

    /** Never counts past the bound, not even for a moment: the count is the pending gauge, read from any thread. */
    boolean reservePendingSlot() {
        int max = settings.maxPending();
        while (true) {
            int held = pendingSlots.get();
            if (held >= max) {
                return false;
            }
            if (pendingSlots.compareAndSet(held, held + 1)) {
                return true;
            }
        }
    }

    void releasePendingSlot() {
        pendingSlots.decrementAndGet();
    }

    /**
     * Makes an inspection findable by id, from just before its inspect handler runs until it ends, for completions
     * and listings; the inspection's state decides what a completion does.
     */
    void registerPending(InspectId id, InspectionHandler handler) {
        pending.put(id, handler);
    }

    void unregisterPending(InspectId id, InspectionHandler handler) {
        pending.remove(id, handler);
    }

    /** A completion came while its inspect handler still ran: refused, and said once, since it is a usage error. */
    void completionBeforePend(InspectId id) {
        if (!earlyCompletionSaid.get() && !earlyCompletionSaid.getAndSet(true)) {
            log.warn("Listener '{}': inspectComplete({}) came before the inspection was pended and changed nothing; "
                    + "start what completes an inspection from InspectHandler.pended() (said once)", settings.name(), id);
        }
    }

    /** Builds a {@link Listener}; every setting has the contract's default. */
    public static final class Builder {
        private final String name;
        private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 0);
        private boolean conditionalAccept = true;
        private Duration inspectTimeout = ListenerSettings.DEFAULT_INSPECT_TIMEOUT;
        private InspectAction onTimeout = InspectAction.REJECT;
        private int maxPending = ListenerSettings.DEFAULT_MAX_PENDING;
        private InspectAction onOverflow = InspectAction.REJECT;
        private int holdBytes = ListenerSettings.DEFAULT_HOLD_BYTES;
        private int acceptBacklog = ListenerSettings.DEFAULT_ACCEPT_BACKLOG;
        private PeekSettings peek = PeekSettings.NONE;
        private InspectHandler inspectHandler = request -> InspectAction.ACCEPT;
        private AbortHandler abortHandler = AbortHandler.NONE;
        private AcceptHandler acceptHandler;
        private ListenerObserver observer = ListenerObserver.NONE;
        private EventLoops loops;
        private int workerThreads;
        private ByteBufAllocator allocator = ByteBufAllocator.DEFAULT;
        private int maxUnclaimed = 128;
        private int maxAcceptWaiters = 1024;
        private Duration unclaimedTimeout = Duration.ofSeconds(10);

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
        }

        /**
         * Takes every listener setting from {@code s}.
         *
         * @param s settings of the listener of this builder's name
         * @return this builder
         * @throws IllegalArgumentException when {@code s} names another listener
         */
        public Builder settings(ListenerSettings s) {
            if (!s.name().equals(name)) {
                throw new IllegalArgumentException("settings are for listener '" + s.name() + "', not '" + name + "'");
            }
            bind = s.bind();
            conditionalAccept = s.conditionalAccept();
            inspectTimeout = s.inspectTimeout();
            onTimeout = s.onTimeout();
            maxPending = s.maxPending();
            onOverflow = s.onOverflow();
            holdBytes = s.holdBytes();
            acceptBacklog = s.acceptBacklog();
            peek = s.peek();
            return this;
        }

        /**
         * Where to listen; 127.0.0.1 and an ephemeral port by default.
         *
         * @param bind the address
         * @return this builder
         */
        public Builder bind(InetSocketAddress bind) {
            this.bind = Objects.requireNonNull(bind);
            return this;
        }

        /**
         * What is read before a connection is inspected: a trusted balancer's PROXY-protocol header, the TLS
         * ClientHello; nothing by default.
         *
         * @param peek the peek settings
         * @return this builder
         */
        public Builder peek(PeekSettings peek) {
            this.peek = Objects.requireNonNull(peek);
            return this;
        }

        /**
         * Whether connections are inspected (the default) or accepted at once; fixed before the listener binds,
         * like {@code SO_CONDITIONAL_ACCEPT}.
         *
         * @param on false: accept every connection without inspecting it
         * @return this builder
         */
        public Builder conditionalAccept(boolean on) {
            this.conditionalAccept = on;
            return this;
        }

        /**
         * The deadline of a pended inspection (5 s by default), unless its verdict gives one.
         *
         * @param timeout positive
         * @return this builder
         */
        public Builder inspectTimeout(Duration timeout) {
            this.inspectTimeout = timeout;
            return this;
        }

        /**
         * What a deadline does: REJECT (the default) or ACCEPT.
         *
         * @param action ACCEPT or REJECT
         * @return this builder
         */
        public Builder onTimeout(InspectAction action) {
            this.onTimeout = action;
            return this;
        }

        /**
         * Pended inspections held at once (10,000 by default); past it a PEND gets {@link #onOverflow}.
         *
         * @param max 0 or more
         * @return this builder
         */
        public Builder maxPending(int max) {
            this.maxPending = max;
            return this;
        }

        /**
         * What a PEND past {@link #maxPending} gets: REJECT (the default) or ACCEPT.
         *
         * @param action ACCEPT or REJECT
         * @return this builder
         */
        public Builder onOverflow(InspectAction action) {
            this.onOverflow = action;
            return this;
        }

        /**
         * Client bytes read and held while pended (16 KiB by default); past it the client is not read. With 0,
         * a pended client is not read at all, so one that leaves is noticed only when its inspection ends.
         *
         * @param bytes 0 or more
         * @return this builder
         */
        public Builder holdBytes(int bytes) {
            this.holdBytes = bytes;
            return this;
        }

        /**
         * Who decides each connection; by default everything is accepted.
         *
         * @param handler the inspect handler
         * @return this builder
         */
        public Builder inspectHandler(InspectHandler handler) {
            this.inspectHandler = Objects.requireNonNull(handler);
            return this;
        }

        /**
         * Who hears of pended inspections that end without a completion.
         *
         * @param handler the abort handler
         * @return this builder
         */
        public Builder abortHandler(AbortHandler handler) {
            this.abortHandler = Objects.requireNonNull(handler);
            return this;
        }

        /**
         * Push accept. Without one the listener queues accepted connections for {@link Listener#accept()}.
         *
         * @param handler takes every accepted connection
         * @return this builder
         */
        public Builder acceptHandler(AcceptHandler handler) {
            this.acceptHandler = Objects.requireNonNull(handler);
            return this;
        }

        /**
         * Bounds of pull accept (128, 10 s and 1,024 by default).
         *
         * @param maxUnclaimed     accepted connections queued for {@link Listener#accept()} at most
         * @param unclaimedTimeout how long one may wait there before it is closed
         * @param maxWaiters       {@code accept()} calls waiting at once at most
         * @return this builder
         */
        public Builder pullAccept(int maxUnclaimed, Duration unclaimedTimeout, int maxWaiters) {
            if (maxUnclaimed < 0 || maxWaiters < 0 || unclaimedTimeout.isNegative() || unclaimedTimeout.isZero()) {
                throw new IllegalArgumentException("pull accept bounds must be positive");
            }
            this.maxUnclaimed = maxUnclaimed;
            this.unclaimedTimeout = unclaimedTimeout;
            this.maxAcceptWaiters = maxWaiters;
            return this;
        }

        /**
         * Who hears of the listener's events, for meters and logs.
         *
         * @param observer the observer
         * @return this builder
         */
        public Builder observer(ListenerObserver observer) {
            this.observer = Objects.requireNonNull(observer);
            return this;
        }

        /**
         * Shared event loops; without them the listener makes and owns its own.
         *
         * @param loops the loops
         * @return this builder
         */
        public Builder eventLoops(EventLoops loops) {
            this.loops = loops;
            return this;
        }

        /**
         * Where the client connections' buffers come from; Netty's default allocator unless given.
         *
         * @param allocator the allocator
         * @return this builder
         */
        public Builder allocator(ByteBufAllocator allocator) {
            this.allocator = Objects.requireNonNull(allocator);
            return this;
        }

        /**
         * I/O threads of the listener's own loops; ignored with shared loops.
         *
         * @param threads 0 for one per core
         * @return this builder
         */
        public Builder workerThreads(int threads) {
            this.workerThreads = threads;
            return this;
        }

        ListenerSettings settings() {
            return new ListenerSettings(name, bind, conditionalAccept, inspectTimeout, onTimeout, maxPending,
                    onOverflow, holdBytes, acceptBacklog, peek);
        }

        /**
         * The listener, not yet bound: {@link Listener#start()} binds it.
         *
         * @return the listener
         * @throws IllegalArgumentException when a setting is out of range
         */
        public Listener build() {
            settings();
            return new Listener(this);
        }
    }
}
