package io.portcullis.policy;

import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.model.Verdict;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Limiter state lives in a registry outside the compiled policy: it survives a reload of an unchanged rule. */
class LimiterReloadTest {

    private final AtomicLong nanos = new AtomicLong();
    private final LimiterRegistry registry = new LimiterRegistry(nanos::get, 1000);

    private Policy compile(String rateLimit, String concurrencyLimit, String extraRule) throws PolicyException {
        return Policy.parse("""
                listeners:
                  demo:
                    rules:
                      - name: rate
                        rate-limit: %s
                      - name: cap
                        concurrency-limit: %s
                %s
                    default: accept
                """.formatted(rateLimit, concurrencyLimit, extraRule), "rules.yaml", registry);
    }

    private static final String RATE = "{rate: 1/m, burst: 2}";
    private static final String CAP = "{key: source-ip, max: 1}";
    private static final String GENEROUS = "{rate: 100/s, burst: 100}";

    private static String rule(PolicyEngine engine, String source) {
        return engine.evaluate(Requests.from("demo", source)).rule();
    }

    @Test
    void anUnchangedRateLimitKeepsItsBucketsAcrossAReload() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(compile(RATE, CAP, ""));
        engine.evaluate(Requests.from("demo", "10.0.0.1")).permit().release();
        engine.evaluate(Requests.from("demo", "10.0.0.1")).permit().release();

        engine.replace(compile(RATE, CAP, """
                      - name: unrelated
                        source: [192.0.2.0/24]
                        action: reject
                """));

        assertThat(rule(engine, "10.0.0.1")).as("the bucket emptied before the reload").isEqualTo("rate");
        assertThat(rule(engine, "10.0.0.2")).isEqualTo("default");
    }

    @Test
    void aChangedRateLimitStartsWithFreshBuckets() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(compile(RATE, CAP, ""));
        engine.evaluate(Requests.from("demo", "10.0.0.1")).permit().release();
        engine.evaluate(Requests.from("demo", "10.0.0.1")).permit().release();
        assertThat(rule(engine, "10.0.0.1")).isEqualTo("rate");

        engine.replace(compile("{rate: 1/m, burst: 3}", CAP, ""));

        Verdict verdict = engine.evaluate(Requests.from("demo", "10.0.0.1"));
        assertThat(verdict.rule()).isEqualTo("default");
        verdict.permit().release();
    }

    @Test
    void anUnchangedConcurrencyLimitKeepsCountingOpenConnectionsAcrossAReload() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(compile(RATE, CAP, ""));
        Verdict open = engine.evaluate(Requests.from("demo", "10.0.0.1"));
        assertThat(open.rule()).isEqualTo("default");

        engine.replace(compile("{rate: 10/s, burst: 10}", CAP, ""));

        assertThat(rule(engine, "10.0.0.1")).as("the connection opened before the reload still counts").isEqualTo("cap");
        open.permit().release();
        Verdict next = engine.evaluate(Requests.from("demo", "10.0.0.1"));
        assertThat(next.rule()).as("its release frees the slot for the new policy").isEqualTo("default");
        next.permit().release();
    }

    @Test
    void aConcurrencyLimitWithAnotherMaxKeepsItsCountsButAnotherKeyStartsAfresh() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(compile(GENEROUS, "{key: source-ip, max: 2}", ""));
        Verdict a = engine.evaluate(Requests.from("demo", "10.0.0.1"));
        Verdict b = engine.evaluate(Requests.from("demo", "10.0.0.1"));

        engine.replace(compile(GENEROUS, "{key: source-ip, max: 3}", ""));
        Verdict c = engine.evaluate(Requests.from("demo", "10.0.0.1"));
        assertThat(c.rule()).isEqualTo("default");
        assertThat(rule(engine, "10.0.0.1")).as("2 open before, 1 after: at the new max of 3").isEqualTo("cap");

        engine.replace(compile(GENEROUS, "{key: listener, max: 1}", ""));
        Verdict d = engine.evaluate(Requests.from("demo", "10.0.0.9"));
        assertThat(d.rule()).as("a listener-wide count starts from zero").isEqualTo("default");
        for (Verdict v : new Verdict[] {a, b, c, d}) {
            v.permit().release();
        }
    }

    @Test
    void stateOfRulesThatDisappearedIsDroppedWhenTheNewPolicyIsPutInForce() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(compile(RATE, CAP, """
                      - name: extra
                        rate-limit: {rate: 5/s}
                """));
        assertThat(registry.size()).isEqualTo(3);

        Policy smaller = compile(RATE, CAP, "");
        assertThat(registry.size()).as("compiling alone drops nothing").isEqualTo(3);
        engine.replace(smaller);
        assertThat(registry.size()).isEqualTo(2);

        engine.replace(compile("{rate: 2/m, burst: 2}", CAP, ""));
        assertThat(registry.size()).as("the old rate-limit's buckets are gone").isEqualTo(2);
    }

    @Test
    void aRefusedFileLeavesTheRegistryAlone() throws PolicyException {
        PolicyEngine engine = new PolicyEngine(compile(RATE, CAP, ""));
        engine.evaluate(Requests.from("demo", "10.0.0.1")).permit().release();
        engine.evaluate(Requests.from("demo", "10.0.0.1")).permit().release();

        PolicyException refused = catchThrowableOfType(PolicyException.class, () -> compile("{rate: 9/m}", CAP, """
                      - name: broken
                        action: acept
                """));

        assertThat(refused).isNotNull();
        assertThat(registry.size()).isEqualTo(2);
        assertThat(rule(engine, "10.0.0.1")).isEqualTo("rate");
    }

    @Test
    void withoutASharedRegistryEveryCompileStartsAfresh() throws PolicyException {
        String yaml = "listeners:\n  demo:\n    rules:\n      - name: rate\n        rate-limit: {rate: 1/m, burst: 1}\n"
                + "    default: accept\n";
        PolicyEngine engine = new PolicyEngine(Policy.parse(yaml, "rules.yaml"));
        assertThat(rule(engine, "10.0.0.1")).isEqualTo("default");
        assertThat(rule(engine, "10.0.0.1")).isEqualTo("rate");

        engine.replace(Policy.parse(yaml, "rules.yaml"));

        assertThat(rule(engine, "10.0.0.1")).isEqualTo("default");
    }
}
