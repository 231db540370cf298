package io.portcullis.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.policy.ClusterStep;
import io.portcullis.policy.Policy;
import io.portcullis.policy.ShadowObserver;
import io.portcullis.policy.model.Permit;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The holder of a connection pended for the cluster store: every permit attached is released once, whenever it comes. */
class ClusterWaitTest {

    private static final class Counted implements Permit {
        final AtomicInteger releases = new AtomicInteger();

        @Override
        public void release() {
            releases.incrementAndGet();
        }
    }

    private static ClusterWait newWait() throws Exception {
        Policy policy = Policy.parse("""
                listeners:
                  db:
                    rules:
                      - name: cap
                        concurrency-limit: {max: 5, scope: cluster}
                    default: accept
                """, "rules.yaml");
        InspectRequest request = InspectRequest.of(InspectId.next(), "db",
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 40000),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 5432), Instant.now());
        ClusterStep step = (ClusterStep) policy.listener("db").orElseThrow()
                .evaluateStepwise(PolicyInspectHandler.toPolicy(request), ShadowObserver.NONE);
        return new ClusterWait(null, request, step);
    }

    @Test
    void whatIsAttachedBeforeIsReleasedWithTheConnectionAndWhatComesAfterAtOnce() throws Exception {
        ClusterWait wait = newWait();
        Counted before = new Counted();
        wait.attach(before);
        wait.attach(Permit.NONE);
        assertThat(before.releases).hasValue(0);

        wait.release();
        wait.release();
        assertThat(wait.isClosed()).isTrue();
        assertThat(before.releases).hasValue(1);

        Counted after = new Counted();
        wait.attach(after);
        assertThat(after.releases).hasValue(1);
        wait.release();
        assertThat(before.releases).hasValue(1);
        assertThat(after.releases).hasValue(1);
    }

    @Test
    void attachesRacingTheCloseAreEachReleasedOnce() throws Exception {
        for (int round = 0; round < 20; round++) {
            ClusterWait wait = newWait();
            List<Counted> all = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            CountDownLatch go = new CountDownLatch(1);
            for (int t = 0; t < 4; t++) {
                List<Counted> mine = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    mine.add(new Counted());
                }
                all.addAll(mine);
                Thread thread = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    mine.forEach(wait::attach);
                });
                thread.start();
                threads.add(thread);
            }
            go.countDown();
            wait.release();
            for (Thread thread : threads) {
                thread.join();
            }
            assertThat(all).allSatisfy(permit -> assertThat(permit.releases).hasValue(1));
        }
    }
}
