package io.portcullis.policy;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.Verdict;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

class PolicyEngineTest {

    private static Policy policy(String defaultAction, String ruleName) throws PolicyException {
        return Policy.parse("""
                listeners:
                  demo:
                    rules:
                      - name: %s
                        source: [10.0.0.0/8]
                        action: %s
                    default: %s
                """.formatted(ruleName, defaultAction, defaultAction), ruleName + ".yaml");
    }

    @Test
    void evaluatesWithTheCurrentPolicyAndSwapsAtomically() throws PolicyException {
        Policy first = policy("accept", "first");
        Policy second = policy("reject", "second");
        PolicyEngine engine = new PolicyEngine(first);

        assertThat(engine.current()).isSameAs(first);
        assertThat(engine.evaluate(Requests.from("demo", "10.0.0.1"))).isEqualTo(new Verdict(InspectAction.ACCEPT, "first"));

        engine.replace(second);

        assertThat(engine.current()).isSameAs(second);
        assertThat(engine.evaluate(Requests.from("demo", "10.0.0.1"))).isEqualTo(new Verdict(InspectAction.REJECT, "second"));
        assertThat(engine.evaluate(Requests.from("demo", "11.0.0.1"))).isEqualTo(new Verdict(InspectAction.REJECT, "default"));
    }

    @Test
    void listenerWithoutSectionIsRejected() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(policy("accept", "first"));

        assertThat(engine.evaluate(Requests.from("other", "10.0.0.1")))
                .isEqualTo(new Verdict(InspectAction.REJECT, PolicyEngine.NO_POLICY_RULE))
                .isEqualTo(new Verdict(InspectAction.REJECT, "no-policy"));
    }

    @Test
    void readersSeeOneWholePolicyWhileItIsSwapped() throws Exception {
        Policy accepting = policy("accept", "first");
        Policy rejecting = policy("reject", "second");
        PolicyEngine engine = new PolicyEngine(accepting);
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(4);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> readers = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                readers.add(pool.submit(() -> {
                    started.countDown();
                    int inconsistent = 0;
                    while (!stop.get()) {
                        Verdict verdict = engine.evaluate(Requests.from("demo", "10.0.0.1"));
                        boolean consistent = verdict.rule().equals("first") ? verdict.action() == InspectAction.ACCEPT
                                : verdict.rule().equals("second") && verdict.action() == InspectAction.REJECT;
                        inconsistent += consistent ? 0 : 1;
                    }
                    return inconsistent;
                }));
            }
            started.await();
            for (int i = 0; i < 20_000; i++) {
                engine.replace(i % 2 == 0 ? rejecting : accepting);
            }
            stop.set(true);
            for (Future<Integer> reader : readers) {
                assertThat(reader.get(10, TimeUnit.SECONDS)).isZero();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
