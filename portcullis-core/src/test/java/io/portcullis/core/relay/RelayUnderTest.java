package io.portcullis.core.relay;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.core.EventLoops;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.Listener;
import io.portcullis.core.PeekSettings;
import io.portcullis.core.PipelineNames;
import io.portcullis.core.demo.EchoServer;
import io.portcullis.core.testing.Blackhole;
import io.portcullis.core.testing.BlockingServer;
import io.portcullis.core.testing.TestClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One relay on loopback: a {@link Listener} named {@code relay-test} whose accept handler is a
 * {@link RelayAcceptHandler} relaying to a pool of backends (echo servers, a hand-driven {@link BlockingServer},
 * addresses that refuse or never answer), reporting to the test's observer.
 *
 * <pre>{@code
 * Listener gateway = relay.on(loops).blockingServer().start();
 * TestClient client = relay.client();
 * TestClient backend = relay.acceptBackend();
 * ...
 * relay.awaitAllClosed();
 * }</pre>
 *
 * <p>Set it up ({@link #on} first), {@link #start} it, then drive it, from the test's thread. {@link #close}
 * closes what it opened, last first: clients, the listener, the backends.
 */
final class RelayUnderTest implements AutoCloseable {

    static final Duration DEADLINE = Duration.ofSeconds(20);

    private final RecordingRelayObserver observer;
    private final Deque<AutoCloseable> resources = new ArrayDeque<>();
    private final List<InetSocketAddress> backends = new ArrayList<>();
    private final List<EchoServer> echoes = new ArrayList<>();
    /** The client-side relay handler of every accepted connection, in order. */
    private final BlockingQueue<RelaySide> relays = new LinkedBlockingQueue<>();
    private final BlockingQueue<InspectRequest> pended = new LinkedBlockingQueue<>();
    private EventLoops loops;
    private Balance balance = Balance.ROUND_ROBIN;
    private Duration connectTimeout = Duration.ofSeconds(2);
    private Duration idleTimeout = Duration.ofMinutes(1);
    private boolean pendEveryone;
    private PeekSettings peek = PeekSettings.NONE;
    private RelaySettings.SendProxy sendProxy = RelaySettings.SendProxy.OFF;
    private Function<InspectRequest, InspectAction> rules;
    private final BlockingQueue<InspectRequest> inspected = new LinkedBlockingQueue<>();
    private BlockingServer server;
    private BackendConnector connector;
    private BackendPool pool;
    private Listener listener;
    private RelayAcceptHandler handler;

    RelayUnderTest(RecordingRelayObserver observer) {
        this.observer = observer;
    }

    // ---- set-up

    /** The event loops of the listener, the relay and the echo backends. */
    RelayUnderTest on(EventLoops loops) {
        this.loops = loops;
        return this;
    }

    /** Adds an {@link EchoServer} backend; {@link #echoServer} gives it back. */
    RelayUnderTest echo() {
        backends.add(startEcho().localAddress());
        return this;
    }

    /** Adds an echo backend given by {@code host} name and port, which the relay resolves. */
    RelayUnderTest echoNamed(String host) {
        backends.add(InetSocketAddress.createUnresolved(host, startEcho().localAddress().getPort()));
        return this;
    }

    /** Adds a {@link BlockingServer} backend, whose connections the test drives: {@link #acceptBackend}. */
    RelayUnderTest blockingServer() throws IOException {
        server = track(BlockingServer.start());
        backends.add(server.address());
        return this;
    }

    /** Adds a backend that never answers a connect; skips the test where the platform has none. */
    RelayUnderTest blackhole() throws IOException {
        Optional<Blackhole> hole = Blackhole.open();
        assumeThat(hole).as("this platform drops SYNs to a full accept queue").isPresent();
        backends.add(track(hole.get()).address());
        return this;
    }

    /** Adds a backend that refuses every connect. */
    RelayUnderTest refusing() throws IOException {
        return backend(TestClient.deadPort());
    }

    RelayUnderTest backend(InetSocketAddress address) {
        backends.add(address);
        return this;
    }

    RelayUnderTest balance(Balance balance) {
        this.balance = balance;
        return this;
    }

    /** 2 s unless set. */
    RelayUnderTest connectTimeout(Duration timeout) {
        this.connectTimeout = timeout;
        return this;
    }

    /** 1 min unless set. */
    RelayUnderTest idleTimeout(Duration timeout) {
        this.idleTimeout = timeout;
        return this;
    }

    /** Conditional accept on, and every connection pended until the test completes it: {@link #nextPended}. */
    RelayUnderTest pendEveryone() {
        this.pendEveryone = true;
        return this;
    }

    /** What the listener peeks before it inspects; nothing unless set. */
    RelayUnderTest peek(PeekSettings peek) {
        this.peek = peek;
        return this;
    }

    /** The PROXY-protocol header the relay writes to the backend; none unless set. */
    RelayUnderTest sendProxy(RelaySettings.SendProxy sendProxy) {
        this.sendProxy = sendProxy;
        return this;
    }

    /** Backends reached through {@code connector} instead of the relay's bootstraps (no health probes then). */
    RelayUnderTest connector(BackendConnector connector) {
        this.connector = connector;
        return this;
    }

    /** Conditional accept on, every connection answered by {@code rules} and kept: {@link #nextInspected}. */
    RelayUnderTest rules(Function<InspectRequest, InspectAction> rules) {
        this.rules = rules;
        return this;
    }

    /** The listener, bound to an ephemeral port, relaying to the backends in the order they were added. */
    Listener start() {
        pool = new BackendPool(List.copyOf(backends), balance);
        RelaySettings settings = new RelaySettings(connectTimeout, idleTimeout, sendProxy);
        handler = connector == null
                ? new RelayAcceptHandler("relay-test", pool, settings, loops(), observer)
                : new RelayAcceptHandler("relay-test", pool, settings, observer, connector);
        Listener.Builder builder = Listener.builder("relay-test")
                .eventLoops(loops())
                .peek(peek)
                .acceptHandler(connection -> {
                    boolean taken = handler.accepted(connection);
                    if (connection.channel().pipeline().get(PipelineNames.RELAY) instanceof RelaySide side) {
                        relays.add(side);
                    }
                    return taken;
                });
        if (rules != null) {
            builder.inspectHandler(request -> {
                inspected.add(request);
                return rules.apply(request);
            });
        } else if (pendEveryone) {
            builder.inspectHandler(request -> {
                pended.add(request);
                return InspectAction.PEND;
            });
        } else {
            builder.conditionalAccept(false);
        }
        listener = track(builder.build().start());
        return listener;
    }

    // ---- driving it

    /** The relay handler, once started. */
    RelayAcceptHandler handler() {
        return handler;
    }

    InetSocketAddress listenerAddress() {
        return listener.localAddress();
    }

    BackendPool pool() {
        return pool;
    }

    /** The {@code i}th echo backend added (from 0). */
    EchoServer echoServer(int i) {
        return echoes.get(i);
    }

    /** A client from 127.0.0.1, closed with the rest. */
    TestClient client() throws IOException {
        return track(TestClient.connect(listener.localAddress()));
    }

    /** A client from 127.0.0.1 with a receive buffer of {@code receiveBuffer} bytes, closed with the rest. */
    TestClient client(int receiveBuffer) throws IOException {
        return track(TestClient.connect(loopback(1), listener.localAddress(), receiveBuffer));
    }

    /** The blocking server's next connection: the backend's end of a relay. */
    TestClient acceptBackend() throws IOException {
        return server.accept(DEADLINE);
    }

    /** The client-side relay handler of the next accepted connection. */
    RelaySide nextRelay() throws InterruptedException {
        RelaySide side = relays.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(side).as("a relay within %s", DEADLINE).isNotNull();
        return side;
    }

    /** The next inspected request (with {@link #rules}). */
    InspectRequest nextInspected() throws InterruptedException {
        InspectRequest request = inspected.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(request).as("an inspection within %s", DEADLINE).isNotNull();
        return request;
    }

    /** The next pended inspection (with {@link #pendEveryone}). */
    InspectRequest nextPended() throws InterruptedException {
        InspectRequest request = pended.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(request).as("a pended inspection within %s", DEADLINE).isNotNull();
        return request;
    }

    /** Every relay ended, reported its end once, and gave its backend slot back. */
    void awaitAllClosed() {
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(observer.closed.get()).isEqualTo(observer.opened.get());
            for (int i = 0; i < pool.size(); i++) {
                assertThat(pool.active(i)).as("active connections of backend %d", i).isZero();
            }
        });
    }

    /** Closes {@code resource} with the rest, before what was opened earlier. */
    <T extends AutoCloseable> T track(T resource) {
        resources.push(resource);
        return resource;
    }

    @Override
    public void close() throws Exception {
        while (!resources.isEmpty()) {
            resources.pop().close();
        }
    }

    private EchoServer startEcho() {
        EchoServer echo = track(new EchoServer(loops(), new InetSocketAddress(loopback(1), 0)).start());
        echoes.add(echo);
        return echo;
    }

    private EventLoops loops() {
        return Objects.requireNonNull(loops, "on(loops) first");
    }
}
