package io.portcullis.core;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
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

    public static Builder builder(String name) {
        return new Builder(name);
    }

    /**
     * Binds the listening socket, waiting at most 10 s. Any thread but an event loop.
     *
     * @throws IllegalStateException when the address cannot be bound, with the reason
     */
    public Listener start() {
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
                        // Per channel, before the first read: caps reads while early bytes are held (EarlyBytes).
                        ch.config().setRecvByteBufAllocator(new CappedReads());
                        ch.pipeline().addLast(PipelineNames.INSPECTION, new InspectionHandler(Listener.this));
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
        log.info("Listener '{}' on {} ({}, conditional accept {})", settings.name(), localAddress(),
                loops.transportName(), settings.conditionalAccept() ? "on" : "off");
        return this;
    }

    /** True while the listening socket is open. Any thread. */
    public boolean isBound() {
        Channel ch = serverChannel;
        return ch != null && ch.isActive();
    }

    /** The bound address (with the real port when 0 was asked for). Any thread, after {@link #start()}. */
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
     * @throws IllegalArgumentException for {@link InspectAction#PEND}
     */
    public boolean inspectComplete(InspectId id, InspectAction action) {
        return inspectComplete(id, action, Completion.CALLER);
    }

    /**
     * As {@link #inspectComplete(InspectId, InspectAction)}, saying who decided and why (for the audit line).
     * Any thread.
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
     */
    public CompletableFuture<AcceptedConnection> accept() {
        if (pullQueue == null) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "listener '" + settings.name() + "' pushes connections to its accept handler"));
        }
        return pullQueue.take();
    }

    /** Pended inspections held now. Any thread. */
    public int pendingCount() {
        return pendingSlots.get();
    }

    /** A snapshot of the pended inspections, oldest first is not guaranteed. Any thread. */
    public List<PendingInspection> pending() {
        long now = System.nanoTime();
        List<PendingInspection> out = new ArrayList<>(pending.size());
        for (InspectionHandler h : pending.values()) {
            long since = h.pendingSince();
            if (since != 0) {
                out.add(new PendingInspection(h.request(), h.rule(), Duration.ofNanos(now - since), h.heldBytes(), h.inputShut()));
            }
        }
        return out;
    }

    public ListenerSettings settings() {
        return settings;
    }

    public String name() {
        return settings.name();
    }

    /** The loops this listener runs on; backend connections use them too. */
    public EventLoops eventLoops() {
        return loops;
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

    boolean reservePendingSlot() {
        if (pendingSlots.incrementAndGet() > settings.maxPending()) {
            pendingSlots.decrementAndGet();
            return false;
        }
        return true;
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
            return this;
        }

        public Builder bind(InetSocketAddress bind) {
            this.bind = Objects.requireNonNull(bind);
            return this;
        }

        /** Fixed before the listener binds, like {@code SO_CONDITIONAL_ACCEPT}. */
        public Builder conditionalAccept(boolean on) {
            this.conditionalAccept = on;
            return this;
        }

        public Builder inspectTimeout(Duration timeout) {
            this.inspectTimeout = timeout;
            return this;
        }

        public Builder onTimeout(InspectAction action) {
            this.onTimeout = action;
            return this;
        }

        public Builder maxPending(int max) {
            this.maxPending = max;
            return this;
        }

        public Builder onOverflow(InspectAction action) {
            this.onOverflow = action;
            return this;
        }

        public Builder holdBytes(int bytes) {
            this.holdBytes = bytes;
            return this;
        }

        public Builder inspectHandler(InspectHandler handler) {
            this.inspectHandler = Objects.requireNonNull(handler);
            return this;
        }

        public Builder abortHandler(AbortHandler handler) {
            this.abortHandler = Objects.requireNonNull(handler);
            return this;
        }

        /** Push accept. Without one the listener queues accepted connections for {@link Listener#accept()}. */
        public Builder acceptHandler(AcceptHandler handler) {
            this.acceptHandler = Objects.requireNonNull(handler);
            return this;
        }

        /** Bounds of pull accept: connections queued unclaimed, how long they wait, calls waiting. */
        public Builder pullAccept(int maxUnclaimed, Duration unclaimedTimeout, int maxWaiters) {
            if (maxUnclaimed < 0 || maxWaiters < 0 || unclaimedTimeout.isNegative() || unclaimedTimeout.isZero()) {
                throw new IllegalArgumentException("pull accept bounds must be positive");
            }
            this.maxUnclaimed = maxUnclaimed;
            this.unclaimedTimeout = unclaimedTimeout;
            this.maxAcceptWaiters = maxWaiters;
            return this;
        }

        public Builder observer(ListenerObserver observer) {
            this.observer = Objects.requireNonNull(observer);
            return this;
        }

        /** Shared event loops; without them the listener makes and owns its own. */
        public Builder eventLoops(EventLoops loops) {
            this.loops = loops;
            return this;
        }

        /** Where the client connections' buffers come from; Netty's default allocator unless given. */
        public Builder allocator(ByteBufAllocator allocator) {
            this.allocator = Objects.requireNonNull(allocator);
            return this;
        }

        /** I/O threads of the listener's own loops (0: one per core); ignored with shared loops. */
        public Builder workerThreads(int threads) {
            this.workerThreads = threads;
            return this;
        }

        ListenerSettings settings() {
            return new ListenerSettings(name, bind, conditionalAccept, inspectTimeout, onTimeout, maxPending,
                    onOverflow, holdBytes, acceptBacklog);
        }

        public Listener build() {
            settings();
            return new Listener(this);
        }
    }
}
