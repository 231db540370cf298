package io.portcullis.bench;

import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * {@link PolicyEngine#evaluate} — the per-connection cost of the policy on the event loop — for a
 * listener whose {@code rules} rules each hold one {@code source} address, compiled from YAML the way a
 * gateway loads them; the request comes from 192.0.2.1, which only the last rule matches, so every rule
 * is tried.
 *
 * <p>{@link #lastOfNRules} is that worst case: evaluation is linear in the rules before the match.
 * {@link #sameAddressesInOneList} has the same addresses in one list behind a single rule (the way to
 * write a block list): one set lookup instead of {@code rules} of them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PolicyEvaluationBenchmark {

    private static final String LISTENER = "bench";
    private static final String CLIENT = "192.0.2.1";
    private static final String MATCHING_RULE = "last";

    @Param({"10", "1000", "100000"})
    public int rules;

    private PolicyEngine rulesEngine;
    private PolicyEngine listEngine;
    private InspectRequest request;

    @Setup(Level.Trial)
    public void compile() throws PolicyException, UnknownHostException {
        request = InspectRequest.of(InspectId.next(), LISTENER,
                new InetSocketAddress(InetAddress.getByName(CLIENT), 40000),
                new InetSocketAddress(InetAddress.getByName("10.255.255.1"), 5432), Instant.now());
        rulesEngine = new PolicyEngine(Policy.parse(oneRulePerAddress(rules), "rules.yaml"));
        listEngine = new PolicyEngine(Policy.parse(oneListRule(rules), "rules.yaml"));
        for (PolicyEngine engine : new PolicyEngine[] {rulesEngine, listEngine}) {
            Verdict verdict = engine.evaluate(request);
            if (!verdict.rule().equals(MATCHING_RULE)) {
                throw new IllegalStateException("expected rule '" + MATCHING_RULE + "' to decide, got " + verdict);
            }
        }
    }

    /** {@code count - 1} rules that each reject one address in 10.0.0.0/8, then the one that matches. */
    static String oneRulePerAddress(int count) {
        StringBuilder yaml = new StringBuilder(count * 80).append("listeners:\n  ").append(LISTENER).append(":\n    rules:\n");
        for (int i = 0; i < count - 1; i++) {
            yaml.append("      - name: r").append(i).append("\n        source: [").append(address(i))
                    .append("]\n        action: reject\n");
        }
        return yaml.append(lastRule()).append("    default: reject\n").toString();
    }

    /** The same {@code count - 1} addresses in one list behind one rule, then the one that matches. */
    static String oneListRule(int count) {
        StringBuilder yaml = new StringBuilder(count * 20).append("lists:\n  blocked:\n");
        for (int i = 0; i < count - 1; i++) {
            yaml.append("    - ").append(address(i)).append('\n');
        }
        yaml.append("listeners:\n  ").append(LISTENER).append(":\n    rules:\n");
        yaml.append("      - name: blocked\n        source: [list:blocked]\n        action: reject\n");
        return yaml.append(lastRule()).append("    default: reject\n").toString();
    }

    private static String lastRule() {
        return "      - name: " + MATCHING_RULE + "\n        source: [192.0.2.0/24]\n        action: accept\n";
    }

    private static String address(int i) {
        return "10." + ((i >>> 16) & 0xFF) + "." + ((i >>> 8) & 0xFF) + "." + (i & 0xFF);
    }

    @Benchmark
    public Verdict lastOfNRules() {
        return rulesEngine.evaluate(request);
    }

    @Benchmark
    public Verdict sameAddressesInOneList() {
        return listEngine.evaluate(request);
    }
}
