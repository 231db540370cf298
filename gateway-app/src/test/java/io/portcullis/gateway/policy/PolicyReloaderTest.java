package io.portcullis.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.gateway.decision.DecisionNameCheck;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.PolicyOptions;
import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.MatchType;
import io.portcullis.policy.rule.MatchValue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the watch compares and which files it watches. A custom condition ({@code mid-parse}) runs a test's
 * action while a reload compiles the policy — after the rules file and its list files were read — so a
 * change "during the parse" is made at exactly that point, without timing.
 */
class PolicyReloaderTest {

    private static final Duration TICK = Duration.ofMillis(20);
    private static final Duration DEADLINE = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    private final MidParse midParse = new MidParse();
    private final PolicyOptions options = PolicyOptions.defaults().withMatchTypes(List.of(midParse));
    private final AtomicInteger successes = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private PolicyEngine engine;
    private PolicyReloader reloader;

    @AfterEach
    void stop() {
        if (reloader != null) {
            reloader.close();
        }
    }

    private Path rules() {
        return dir.resolve("rules.yaml");
    }

    /** Writes the rules file, loads it and starts watching it. */
    private void startWith(String rules) throws Exception {
        Files.writeString(rules(), rules);
        engine = new PolicyEngine(Policy.load(rules(), options));
        reloader = new PolicyReloader(engine, rules(), options,
                PolicyChecks.of(List.of(new PolicyChecks.ListenerFacts("db", true, false, false)), DecisionNameCheck.none()),
                success -> (success ? successes : failures).incrementAndGet(), TICK);
        reloader.start();
    }

    private static String policy(String lists, String rules) {
        return lists + "listeners:\n  db:\n    rules:\n" + rules + "    default: accept\n";
    }

    private static final String BLOCKED_LIST = "lists:\n  blocked: {file: ./blocked.txt}\n";
    private static final String DENY_BLOCKED = """
                  - name: deny-blocked
                    source: [list:blocked]
                    action: reject
            """;
    private static final String HOOK = """
                  - name: hook
                    mid-parse: run
                    source: [198.51.100.1]
                    action: reject
            """;

    private String ruleFor(String source) {
        try {
            InspectRequest request = InspectRequest.of(InspectId.next(), "db",
                    new InetSocketAddress(InetAddress.getByName(source), 40000),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 5432), Instant.now());
            return engine.evaluate(request).rule();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Runnable write(Path file, String text) {
        return () -> {
            try {
                Files.writeString(file, text);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
    }

    @Test
    void aRulesFileChangedWhileAReloadReadsItIsReadAgainBeforeItGoesInForce() throws Exception {
        startWith(policy("", """
                  - name: first
                    source: [192.0.2.1]
                    action: reject
            """));
        String third = policy("", """
                  - name: third-version
                    source: [192.0.2.3]
                    action: reject
            """);
        midParse.action.set(write(rules(), third));

        Files.writeString(rules(), policy("", HOOK + """
                  - name: second
                    source: [192.0.2.2]
                    action: reject
            """));

        await().atMost(DEADLINE).until(() -> midParse.ran.get() == 1);
        await().atMost(DEADLINE).until(() -> ruleFor("192.0.2.3").equals("third-version"));
        assertThat(ruleFor("192.0.2.2")).isEqualTo("default");
        assertThat(successes).as("the second, changed while read, is read again: the third, once").hasValue(1);
    }

    /**
     * A ConfigMap volume: rules.yaml and the list files link through {@code ..data}, which kubelet swaps to a new
     * directory at any moment. Here it swaps while a reload compiles what it read of v1 (its lists already read):
     * the files changed while they were read, so all of v2 is read again, and no rule or list of v1 stays.
     * (Pipes, which would let the swap land between two files, are refused as list files.)
     */
    @Test
    void aConfigMapSwapWhileAReloadReadsIsReadAgainWhole() throws Exception {
        Path v1 = Files.createDirectory(dir.resolve("..2026_12_05_08_00_01.000000001"));
        Path v2 = Files.createDirectory(dir.resolve("..2026_12_05_08_00_02.000000002"));
        for (Path v : List.of(v1, v2)) {
            String n = v == v1 ? "1" : "2";
            Files.writeString(v.resolve("rules.yaml"), policy("lists:\n  a: {file: ./a.txt}\n  b: {file: ./b.txt}\n", """
                      - name: a-vN
                        source: [list:a]
                        action: reject
                      - name: b-vN
                        source: [list:b]
                        action: reject
                """.replace("N", n) + (v == v1 ? HOOK : "")));
            Files.writeString(v.resolve("a.txt"), "192.0.2.1" + n + "\n");
            Files.writeString(v.resolve("b.txt"), "192.0.2.2" + n + "\n");
        }
        Files.createSymbolicLink(dir.resolve("..data"), v2.getFileName());
        for (String name : List.of("rules.yaml", "a.txt", "b.txt")) {
            Files.createSymbolicLink(dir.resolve(name), Path.of("..data", name));
        }
        engine = new PolicyEngine(Policy.load(rules(), options));
        reloader = new PolicyReloader(engine, rules(), options,
                PolicyChecks.of(List.of(new PolicyChecks.ListenerFacts("db", true, false, false)), DecisionNameCheck.none()),
                success -> (success ? successes : failures).incrementAndGet(), TICK);
        reloader.close(); // no ticks: the reload below is the only one
        swapData(v1);
        midParse.action.set(() -> {
            try {
                swapData(v2);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });

        PolicyReloader.Result result = reloader.reload();

        assertThat(midParse.ran).as("the swap came while v1 was compiled").hasValue(1);
        assertThat(result.success()).isTrue();
        assertThat(ruleFor("192.0.2.22")).isEqualTo("b-v2");
        assertThat(ruleFor("192.0.2.12")).isEqualTo("a-v2");
        assertThat(ruleFor("192.0.2.11")).as("v1's lists are not in force").isEqualTo("default");
        assertThat(ruleFor("198.51.100.1")).as("nor v1's rules").isEqualTo("default");
        assertThat(successes).hasValue(1);
    }

    /** Files that change on every read are not put in force: the running policy stays, one failure is counted. */
    @Test
    void filesThatChangeOnEveryReadLeaveTheRunningPolicy() throws Exception {
        startWith(policy("", """
                  - name: first
                    source: [192.0.2.1]
                    action: reject
            """));
        reloader.close(); // no ticks: the reload below is the only one
        AtomicInteger reads = new AtomicInteger();
        Runnable rewrite = new Runnable() {
            @Override
            public void run() {
                int n = reads.incrementAndGet();
                write(rules(), policy("", HOOK + "      - name: changing\n        source: [192.0.2.9]\n"
                        + "        action: reject\n" + "#".repeat(n) + "\n")).run();
                midParse.action.set(this);
            }
        };
        midParse.action.set(rewrite);
        rewrite.run();

        PolicyReloader.Result result = reloader.reload();

        assertThat(result.success()).isFalse();
        assertThat(result.errors()).singleElement().asString().contains("changed while they were read");
        assertThat(reads.get() - 1).as("reads").isEqualTo(PolicyReloader.MAX_READS);
        assertThat(ruleFor("192.0.2.1")).as("the running policy stays").isEqualTo("first");
        assertThat(ruleFor("192.0.2.9")).isEqualTo("default");
        assertThat(successes).hasValue(0);
        assertThat(failures).hasValue(1);
    }

    /** Points {@code ..data} at {@code version} as kubelet does: a new link renamed over the old one. */
    private void swapData(Path version) throws IOException {
        Path link = Files.createSymbolicLink(dir.resolve("..data_tmp"), version.getFileName());
        Files.move(link, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void aListFileChangedWhileAReloadReadsItIsReloadedAtTheNextTick() throws Exception {
        Path list = dir.resolve("blocked.txt");
        Files.writeString(list, "192.0.2.7\n");
        startWith(policy(BLOCKED_LIST, DENY_BLOCKED));
        assertThat(ruleFor("192.0.2.7")).isEqualTo("deny-blocked");
        // the lists are read before the rules are compiled: this edit comes after the list was read
        midParse.action.set(write(list, "192.0.2.8   # edited while the policy was compiled\n"));

        Files.writeString(rules(), policy(BLOCKED_LIST, DENY_BLOCKED + HOOK));

        await().atMost(DEADLINE).until(() -> midParse.ran.get() == 1);
        await().atMost(DEADLINE).until(() -> ruleFor("192.0.2.8").equals("deny-blocked"));
        assertThat(ruleFor("192.0.2.7")).isEqualTo("default");
    }

    @Test
    void aRefusedFileIsRetriedWhenAListFileItNamesAppears() throws Exception {
        startWith(policy("", """
                  - name: first
                    source: [192.0.2.1]
                    action: reject
            """));
        Files.writeString(rules(), policy("lists:\n  blocked: {file: ./later.txt}\n", DENY_BLOCKED));
        await().atMost(DEADLINE).until(() -> failures.get() == 1);
        assertThat(ruleFor("192.0.2.1")).as("the running policy stays").isEqualTo("first");
        FileTime rulesAsRefused = Files.getLastModifiedTime(rules());

        Files.writeString(dir.resolve("later.txt"), "192.0.2.9\n");

        await().atMost(DEADLINE).until(() -> ruleFor("192.0.2.9").equals("deny-blocked"));
        assertThat(successes).hasValue(1);
        assertThat(failures).as("refused once, not again every tick").hasValue(1);
        assertThat(Files.getLastModifiedTime(rules())).as("the rules file was not touched").isEqualTo(rulesAsRefused);
    }

    /** {@code mid-parse: ...}: compiling it runs the action set, once; it matches every connection. */
    private static final class MidParse implements MatchType {
        final AtomicReference<Runnable> action = new AtomicReference<>();
        final AtomicInteger ran = new AtomicInteger();

        @Override
        public String key() {
            return "mid-parse";
        }

        @Override
        public Match parse(MatchValue value) {
            Runnable run = action.getAndSet(null);
            if (run != null) {
                run.run();
                ran.incrementAndGet();
            }
            return new Match() {
                @Override
                public boolean matches(InspectRequest request, byte[] sourceAddress) {
                    return true;
                }

                @Override
                public String key() {
                    return "mid-parse";
                }
            };
        }
    }
}
