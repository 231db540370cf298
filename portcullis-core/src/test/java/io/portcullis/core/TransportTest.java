package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import io.portcullis.core.testing.TestTransports;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TransportTest {

    @Test
    void autoIsIoUringWhereTheKernelAllowsItThenEpoll() {
        assertThat(Transport.parse("auto")).isEqualTo(Transport.auto());
        assertThat(Transport.auto()).isEqualTo(IoUring.isAvailable() ? Transport.IO_URING
                : Epoll.isAvailable() ? Transport.EPOLL : Transport.NIO);
    }

    /** The container case: seccomp forbids io_uring, so auto is epoll and says why io_uring was passed over. */
    @Test
    void autoPassesOverWhatCannotRunAndSaysWhy() {
        Map<Transport, String> passedOver = new LinkedHashMap<>();
        Transport noUring = Transport.firstAvailable(
                t -> t == Transport.IO_URING ? Optional.of("io_uring_setup: Operation not permitted") : Optional.empty(),
                passedOver::put);
        assertThat(noUring).isEqualTo(Transport.EPOLL);
        assertThat(passedOver).containsExactly(Map.entry(Transport.IO_URING, "io_uring_setup: Operation not permitted"));

        passedOver.clear();
        Transport neither = Transport.firstAvailable(
                t -> t == Transport.NIO ? Optional.empty() : Optional.of(t.label() + " missing"), passedOver::put);
        assertThat(neither).isEqualTo(Transport.NIO);
        assertThat(passedOver).containsOnlyKeys(Transport.IO_URING, Transport.EPOLL);

        passedOver.clear();
        assertThat(Transport.firstAvailable(t -> Optional.empty(), passedOver::put)).isEqualTo(Transport.IO_URING);
        assertThat(passedOver).isEmpty();
    }

    /** Netty's multishot poll loses resets on io_uring (see Transport, ResetAfterBytesTest): off unless set. */
    @Test
    void ioUringMultishotPollIsOffUnlessTheOperatorSetsIt() {
        assertThat(Transport.IO_URING.label()).isEqualTo("io_uring");
        assertThat(System.getProperty(Transport.POLL_MULTISHOT)).isEqualTo("false");
    }

    /** Netty re-arms a multishot accept that failed at once, pause or not: a spin at EMFILE (AcceptEmfileTest). */
    @Test
    void ioUringMultishotAcceptIsOffUnlessTheOperatorSetsIt() {
        assertThat(Transport.IO_URING.label()).isEqualTo("io_uring");
        assertThat(System.getProperty(Transport.ACCEPT_MULTISHOT)).isEqualTo("false");
        if (Transport.IO_URING.unavailability().isEmpty()) {
            assertThat(IoUring.isAcceptMultishotEnabled()).isFalse();
        }
    }

    @Test
    void namesAreTheConfigurationValues() {
        assertThat(Transport.parse("io_uring")).isEqualTo(Transport.IO_URING);
        assertThat(Transport.parse("EPOLL")).isEqualTo(Transport.EPOLL);
        assertThat(Transport.parse("nio")).isEqualTo(Transport.NIO);
        assertThatThrownBy(() -> Transport.parse("dpdk")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dpdk").hasMessageContaining("io_uring");
    }

    @Test
    void nioRunsEverywhere() {
        assertThat(Transport.NIO.unavailability()).isEmpty();
        assertThat(TestTransports.labels()).contains("nio");
    }

    /** The loops run what was asked for, or refuse to start: never a silent fallback. */
    @ParameterizedTest
    @MethodSource("io.portcullis.core.testing.TestTransports#labels")
    void loopsRunTheTransportAskedFor(String label) {
        try (EventLoops loops = EventLoops.create(Transport.parse(label), 1)) {
            assertThat(loops.transportName()).isEqualTo(label);
            assertThat(loops.channelType().getSimpleName().toLowerCase().replace("_", ""))
                    .startsWith(label.replace("_", ""));
        }
    }
}
