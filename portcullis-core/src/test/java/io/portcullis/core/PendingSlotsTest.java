package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.testing.TestTransports;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The pended count, which the pending gauge reads, never passes max-pending, not even while slots are refused. */
class PendingSlotsTest {

    @Test
    void theCountNeverPassesTheBoundUnderContention() throws Exception {
        try (TestTransports transports = new TestTransports(1)) {
            Listener listener = Listener.builder("slots").eventLoops(transports.auto()).maxPending(8)
                    .inspectHandler(r -> InspectAction.ACCEPT).build();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger highest = new AtomicInteger();
            AtomicInteger granted = new AtomicInteger();
            Thread sampler = new Thread(() -> {
                while (!stop.get()) {
                    highest.accumulateAndGet(listener.pendingCount(), Math::max);
                }
            });
            sampler.start();
            // Hold all but one slot, so that the workers mostly meet a refusal.
            for (int i = 0; i < 7; i++) {
                assertThat(listener.reservePendingSlot()).isTrue();
            }
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread w = new Thread(() -> {
                    for (int i = 0; i < 2_000_000; i++) {
                        if (listener.reservePendingSlot()) {
                            granted.incrementAndGet();
                            listener.releasePendingSlot();
                        }
                    }
                });
                workers.add(w);
                w.start();
            }
            for (Thread w : workers) {
                w.join();
            }
            stop.set(true);
            sampler.join();
            assertThat(granted.get()).isPositive();
            assertThat(highest.get()).isLessThanOrEqualTo(8);
            assertThat(listener.pendingCount()).isEqualTo(7);
        }
    }
}
