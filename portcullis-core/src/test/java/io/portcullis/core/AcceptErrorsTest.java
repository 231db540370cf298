package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Accept failures (EMFILE for as long as files run short) end here, one log line per burst. */
class AcceptErrorsTest {

    @Test
    void aBurstOfAcceptFailuresIsOneLineAndNoneReachesTheTail() {
        AtomicLong now = new AtomicLong(1_000);
        AcceptErrors errors = new AcceptErrors("db", now::get);
        EmbeddedChannel server = new EmbeddedChannel(errors);

        for (int i = 0; i < 60; i++) { // a minute of EMFILE, one a second as Netty's acceptor retries
            server.pipeline().fireExceptionCaught(new IOException("accept(..) failed: Too many open files"));
            now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        }

        assertThat(errors.lines).as("one line, then one per quiet period").isEqualTo(2);
        server.checkException(); // throws when an exception reached the tail
        assertThat(server.finish()).isFalse();
    }

    @Test
    void aFailureAfterAQuietPeriodIsLoggedAgain() {
        AtomicLong now = new AtomicLong(0);
        AcceptErrors errors = new AcceptErrors("db", now::get);
        EmbeddedChannel server = new EmbeddedChannel(errors);

        server.pipeline().fireExceptionCaught(new IOException("accept(..) failed: Too many open files"));
        now.addAndGet(AcceptErrors.QUIET_NANOS + 1);
        server.pipeline().fireExceptionCaught(new IllegalStateException());

        assertThat(errors.lines).isEqualTo(2);
        server.checkException();
        server.finishAndReleaseAll();
    }
}
