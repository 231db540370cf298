package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.epoll.Epoll;
import io.portcullis.core.testing.TestTransports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TransportTest {

    @Test
    void autoIsEpollWhereTheKernelHasItNeverIoUring() {
        assertThat(Transport.parse("auto")).isEqualTo(Transport.auto());
        assertThat(Transport.auto()).isEqualTo(Epoll.isAvailable() ? Transport.EPOLL : Transport.NIO);
    }

    /** Netty's multishot poll loses resets on io_uring (see Transport, ResetAfterBytesTest): off unless set. */
    @Test
    void ioUringMultishotPollIsOffUnlessTheOperatorSetsIt() {
        assertThat(Transport.IO_URING.label()).isEqualTo("io_uring");
        assertThat(System.getProperty(Transport.POLL_MULTISHOT)).isEqualTo("false");
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
