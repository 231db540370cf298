package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.portcullis.core.InspectionHandler.State;
import io.portcullis.core.testing.EmbeddedSocket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the peek stage as a listener installs it (the PROXY-protocol gate, Netty's decoder, the ClientHello
 * reader, the inspection): whatever a trusted peer sends, in whatever segments, with or without a FIN, the
 * connection ends in exactly one of inspected, reset with a {@link PeekReject}, or closed — no exception, no
 * leak, no connection left peeking past its deadline.
 *
 * <p>{@code mvn verify} runs {@link #randomInputsEndInATypedOutcome} (fixed seeds, bounded) and replays the
 * seed inputs of {@link #peekEndsInATypedOutcome}. To fuzz for real (for {@code maxDuration}; repeat it to go on,
 * the corpus in {@code .cifuzz-corpus/} is kept; README, "Tests"):
 * <pre>
 * JAZZER_FUZZ=1 mvn -pl portcullis-core -am test -Dtest=ProxyHeaderFuzzTest#peekEndsInATypedOutcome \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class ProxyHeaderFuzzTest {

    private static final EventLoops LOOPS = EventLoops.nio(1);
    private static final InetSocketAddress BALANCER = new InetSocketAddress("127.0.0.9", 50000);
    private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 8443);
    private static final byte[][] PREFIXES = {
        {},
        "PROXY ".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        "PROXY TCP4 ".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A},
        {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11},
        {0x16, 0x03, 0x01},
    };

    @AfterAll
    static void closeLoops() {
        LOOPS.close();
    }

    /** One connection fed {@code data} in segments of the given sizes (cycled), then maybe a FIN, then the deadline. */
    static void feed(boolean tls, PeekSettings.ProxyProtocol mode, byte[] data, int[] segments, boolean fin) {
        PeekSettings peek = new PeekSettings(mode, mode == PeekSettings.ProxyProtocol.OFF ? List.of() : List.of("127.0.0.0/8"),
                PeekSettings.OnLocal.RELAY, tls, PeekSettings.OnNotTls.REJECT, Duration.ofSeconds(2), 1024);
        int[] outcomes = new int[3];
        Listener listener = Listener.builder("fuzz").eventLoops(LOOPS).peek(peek)
                .observer(new ListenerObserver() {
                    @Override
                    public void peekRejected(String l, PeekReject reason) {
                        outcomes[1]++;
                    }
                })
                .inspectHandler(request -> {
                    outcomes[0]++;
                    return InspectAction.ACCEPT;
                })
                .acceptHandler(c -> {
                    c.takeEarlyData().release();
                    c.close();
                    return true;
                })
                .build();
        EmbeddedSocket ch = new EmbeddedSocket(BALANCER, LOCAL);
        try {
            listener.initConnection(ch, peek.trustRules());
            InspectionHandler handler = (InspectionHandler) ch.pipeline().get(PipelineNames.INSPECTION);
            ch.activate();
            int at = 0;
            for (int i = 0; at < data.length && ch.isOpen() && ch.readRequested(); i++) {
                int n = Math.max(1, Math.min(segments[i % segments.length], data.length - at));
                ch.receive(ch.alloc().buffer(n).writeBytes(data, at, n));
                at += n;
            }
            if (fin) {
                ch.receiveFin();
            }
            ch.advance(Duration.ofSeconds(3));
            ch.runPendingTasks();
            State s = handler.state();
            assertThat(s).as("never left peeking").isNotEqualTo(State.PEEKING);
            assertThat(outcomes[0] + outcomes[1]).as("inspected or rejected, not both").isLessThanOrEqualTo(1);
            if (s == State.REJECTED && outcomes[0] == 0) {
                assertThat(outcomes[1]).as("a reset while peeking is counted").isEqualTo(1);
            }
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @FuzzTest(maxDuration = "2m")
    void peekEndsInATypedOutcome(FuzzedDataProvider in) {
        boolean tls = in.consumeBoolean();
        PeekSettings.ProxyProtocol mode = in.pickValue(PeekSettings.ProxyProtocol.values());
        if (mode == PeekSettings.ProxyProtocol.OFF && !tls) {
            mode = PeekSettings.ProxyProtocol.OPTIONAL;
        }
        int[] segments = {in.consumeInt(1, 64), in.consumeInt(1, 64), in.consumeInt(1, 2048)};
        boolean fin = in.consumeBoolean();
        byte[] prefix = PREFIXES[in.consumeInt(0, PREFIXES.length - 1)];
        byte[] rest = in.consumeRemainingAsBytes();
        byte[] data = java.util.Arrays.copyOf(prefix, prefix.length + rest.length);
        System.arraycopy(rest, 0, data, prefix.length, rest.length);
        feed(tls, mode, data, segments, fin);
    }

    @Test
    void randomInputsEndInATypedOutcome() {
        Random random = new Random(20261205L);
        for (int i = 0; i < 3000; i++) {
            byte[] prefix = PREFIXES[random.nextInt(PREFIXES.length)];
            byte[] data = java.util.Arrays.copyOf(prefix, prefix.length + random.nextInt(300));
            for (int j = prefix.length; j < data.length; j++) {
                // Mostly printable, so that v1 lines get far; sometimes anything.
                data[j] = (byte) (random.nextInt(4) == 0 ? random.nextInt(256) : " 0123456789.:PROXYTCP46UNKOW\r\n".charAt(random.nextInt(30)));
            }
            PeekSettings.ProxyProtocol mode = PeekSettings.ProxyProtocol.values()[1 + random.nextInt(2)];
            feed(random.nextBoolean(), mode, data, new int[] {1 + random.nextInt(20), 1 + random.nextInt(200)},
                    random.nextBoolean());
        }
    }
}
