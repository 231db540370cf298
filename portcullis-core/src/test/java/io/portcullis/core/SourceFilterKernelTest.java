package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.testing.TestClient;
import io.portcullis.core.testing.TestTransports;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The filter in the kernel, on loopback: a blocked source's connect gets no answer (the SYN is dropped before
 * the handshake, so neither a SYN-ACK nor a reset), others connect and are inspected; a new filter replaces the old
 * one, an empty one removes it; NIO says why it cannot.
 */
class SourceFilterKernelTest {

    private static final Duration NO_ANSWER = Duration.ofMillis(400);
    private static final InetAddress BLOCKED = TestClient.loopback(2);
    private static final InetAddress OTHER = TestClient.loopback(3);
    private static final InetAddress BLOCKED_LATER = TestClient.loopback(4);
    private static final TestTransports TRANSPORTS = new TestTransports(1);

    private final List<Listener> listeners = new ArrayList<>();
    private final List<String> inspected = new java.util.concurrent.CopyOnWriteArrayList<>();

    static Stream<String> kernelTransports() {
        return TestTransports.labels().filter(t -> !t.equals("nio"));
    }

    @AfterEach
    void tearDown() {
        listeners.forEach(Listener::close);
    }

    @AfterAll
    static void shutdown() {
        TRANSPORTS.close();
    }

    private Listener start(String transport, InetSocketAddress bind) {
        Listener listener = Listener.builder("filtered").eventLoops(TRANSPORTS.loops(transport)).bind(bind)
                .inspectHandler(request -> {
                    inspected.add(request.source().getAddress().getHostAddress());
                    return InspectAction.ACCEPT;
                })
                .acceptHandler(c -> {
                    c.close();
                    return true;
                })
                .build().start();
        listeners.add(listener);
        return listener;
    }

    private static SourceFilter only(InetAddress... addresses) {
        int[] a = Stream.of(addresses).mapToInt(SourceFilterKernelTest::ipv4).sorted().toArray();
        return SourceFilter.ofIpv4Ranges(a, a.clone());
    }

    private static int ipv4(InetAddress address) {
        byte[] b = address.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    @ParameterizedTest
    @MethodSource("kernelTransports")
    void blockedSourcesGetNoAnswerOthersConnectAndANewFilterReplacesTheOld(String transport) throws Exception {
        Listener listener = start(transport, new InetSocketAddress(TestClient.loopback(1), 0));
        InetSocketAddress target = listener.localAddress();
        // Without a filter the blocked source is answered (and here accepted). Its inspection runs after the connect
        // returns: wait for it, so that it cannot land after the clear below.
        TestClient.connect(BLOCKED, target).close();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                .until(() -> inspected.contains(BLOCKED.getHostAddress()));

        SourceFilterState state = listener.filterSources(only(BLOCKED));
        assertThat(state.attached()).isTrue();
        assertThat(state.ranges()).isEqualTo(1);
        assertThat(state.problem()).isEmpty();
        assertThat(listener.sourceFilterState()).isEqualTo(state);
        inspected.clear();
        // Connections accepted and closed in user space are no drops.
        assertThat(listener.kernelDrops()).hasValue(0);
        TestClient.expectNoAnswer(BLOCKED, target, NO_ANSWER);
        try (TestClient other = TestClient.connect(OTHER, target)) {
            other.expectClosed(Duration.ofSeconds(5));
        }
        // The dropped SYN never reached user space: only the other source was inspected. The kernel counted it
        // (and any retransmission within the wait).
        assertThat(inspected).containsExactly(OTHER.getHostAddress());
        long dropped = listener.kernelDrops().orElseThrow();
        assertThat(dropped).isBetween(1L, 1L + NO_ANSWER.toSeconds());

        listener.filterSources(only(BLOCKED_LATER, OTHER));
        TestClient.connect(BLOCKED, target).close();
        TestClient.expectNoAnswer(BLOCKED_LATER, target, NO_ANSWER);
        TestClient.expectNoAnswer(OTHER, target, NO_ANSWER);

        assertThat(listener.filterSources(SourceFilter.ofIpv4Ranges(new int[0], new int[0])))
                .isEqualTo(SourceFilterState.NONE);
        TestClient.connect(BLOCKED_LATER, target).close();
        TestClient.connect(OTHER, target).close();
        // Removing when none is attached is no error.
        assertThat(listener.filterSources(SourceFilter.ofIpv4Ranges(new int[0], new int[0])))
                .isEqualTo(SourceFilterState.NONE);
    }

    /** A dual-stack listener gets IPv4 clients as IPv4 packets: the filter drops them there too, IPv6 passes. */
    @ParameterizedTest
    @MethodSource("kernelTransports")
    void aDualStackListenerDropsIpv4SourcesAndPassesIpv6(String transport) throws Exception {
        Listener listener = start(transport, new InetSocketAddress(InetAddress.getByName("::"), 0));
        int port = listener.localAddress().getPort();
        listener.filterSources(SourceFilter.ofIpv4Ranges(new int[] {0}, new int[] {ipv4(BLOCKED)}));
        TestClient.expectNoAnswer(BLOCKED, new InetSocketAddress(TestClient.loopback(1), port), NO_ANSWER);
        TestClient.connect(OTHER, new InetSocketAddress(TestClient.loopback(1), port)).close();
        InetAddress v6 = InetAddress.getByName("::1");
        TestClient.connect(v6, new InetSocketAddress(v6, port)).close();
    }

    /** As many ranges as fit, loaded in one go; past that the widest stay. */
    @ParameterizedTest
    @MethodSource("kernelTransports")
    void fiftyThousandRangesLoadAsFarAsTheKernelTakesThem(String transport) throws Exception {
        Listener listener = start(transport, new InetSocketAddress(TestClient.loopback(1), 0));
        int n = 50_000;
        int[] first = new int[n];
        int[] last = new int[n];
        int blocked = ipv4(BLOCKED);
        for (int i = 0; i < n; i++) {
            first[i] = 0x0A000000 + i * 4;
            last[i] = first[i];
        }
        // One wide range among them: 127.0.0.2 to 127.0.0.3 (plus the whole of 126.x below).
        first[n - 1] = 0x7E000000;
        last[n - 1] = blocked;
        SourceFilterState state = listener.filterSources(SourceFilter.ofIpv4Ranges(first, last));
        assertThat(state.attached()).isTrue();
        assertThat(state.ranges()).isEqualTo(SourceFilter.capacity());
        assertThat(state.rangesAsked()).isEqualTo(n);
        assertThat(state.instructions()).isLessThanOrEqualTo(SourceFilter.MAX_INSTRUCTIONS);
        TestClient.expectNoAnswer(BLOCKED, listener.localAddress(), NO_ANSWER);
        TestClient.connect(OTHER, listener.localAddress()).close();
    }

    @Test
    void nioSaysWhyAndKeepsTheRulesInUserSpace() throws Exception {
        Listener listener = start("nio", new InetSocketAddress(TestClient.loopback(1), 0));
        SourceFilterState state = listener.filterSources(only(BLOCKED));
        assertThat(state.attached()).isFalse();
        assertThat(state.rangesAsked()).isEqualTo(1);
        assertThat(state.problem()).hasValueSatisfying(p -> assertThat(p).contains("nio"));
        TestClient.connect(BLOCKED, listener.localAddress()).close();
        assertThat(listener.kernelDrops()).as("NIO gives no socket to ask").isEmpty();
    }

    @Test
    void anUnboundListenerSaysSo() {
        Listener listener = Listener.builder("unbound").eventLoops(TRANSPORTS.auto())
                .inspectHandler(request -> InspectAction.ACCEPT).acceptHandler(c -> {
                    c.close();
                    return true;
                }).build();
        assertThat(listener.filterSources(only(BLOCKED)).problem()).hasValue("the listener is not bound");
        assertThat(listener.kernelDrops()).isEmpty();
    }
}
