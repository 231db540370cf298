package io.portcullis.gateway;

import static io.portcullis.core.testing.TestClient.loopback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.portcullis.core.Listener;
import io.portcullis.gateway.metrics.AuditLog;
import io.portcullis.gateway.testing.GatewayUnderTest;
import io.portcullis.gateway.testing.StartFailure;
import io.portcullis.core.testing.TestClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** The audit log in the application: its key, its drop meter, and the lines of a stop written before it ends. */
@ExtendWith(OutputCaptureExtension.class)
class AuditApplicationTest {

    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"15", "1048577", "-1", "many"})
    void aQueueSizeOutOfRangeStopsTheStartNamingTheKey(String size, CapturedOutput output) throws Exception {
        Path rules = Files.writeString(dir.resolve("rules.yaml"), "listeners:\n  db:\n    rules: []\n    default: accept\n");
        Throwable t = StartFailure.of("--server.port=0", "--portcullis.rules=file:" + rules,
                "--portcullis.listeners[0].name=db", "--portcullis.listeners[0].bind=127.0.0.1:0",
                "--portcullis.listeners[0].backends[0]=127.0.0.1:9", "--portcullis.audit.queue-size=" + size);
        assertThat(StartFailure.messages(t)).contains("audit.queue");
        // What the operator reads: Spring Boot's failure report names the key (validation: in its Java spelling).
        assertThat(output.getAll()).containsPattern("portcullis\\.audit\\.queue(-s|S)ize").contains(size);
    }

    @Test
    void linesAndDropsAreReportedAndAStopWritesTheLinesOfWhatItEnded() throws Exception {
        Set<Thread> others = auditWriters();
        try (GatewayUnderTest gateway = new GatewayUnderTest()
                .rules("""
                        listeners:
                          svc:
                            rules:
                              - name: try-block
                                source: [127.0.0.2]
                                action: reject
                                mode: shadow
                              - name: wait
                                source: [127.0.0.3]
                                action: pend
                            default: accept
                        """)
                .properties("portcullis.audit.queue-size=16", "portcullis.shutdown-grace=1s")
                .addListener("svc", "inspect.timeout=1m", "inspect.on-timeout=reject")
                .start()) {
            Set<Thread> writers = auditWriters();
            writers.removeAll(others);
            assertThat(writers).as("this context's audit writer").hasSize(1);
            // After the start: Spring Boot's logging set-up replaces the appenders of every logger.
            Logger audit = (Logger) LoggerFactory.getLogger(AuditLog.LOGGER);
            Logger shadow = (Logger) LoggerFactory.getLogger(AuditLog.SHADOW_LOGGER);
            ListAppender<ILoggingEvent> lines = new ListAppender<>();
            lines.start();
            audit.addAppender(lines);
            shadow.addAppender(lines);
            try {
                Listener listener = gateway.listener("svc");
                String scrape = gateway.get("/actuator/prometheus").body();
                assertThat(scrape).contains("portcullis_audit_dropped_total{log=\"audit\"} 0.0")
                        .contains("portcullis_audit_dropped_total{log=\"shadow\"} 0.0");

                try (TestClient client = TestClient.connect(loopback(2), listener.localAddress())) {
                    client.write("one".getBytes());
                    assertThat(new String(client.readExactly(3))).isEqualTo("one");
                }
                await().atMost(DEADLINE).until(() -> messages(lines).stream().anyMatch(m -> m.contains("\"ip\":\"127.0.0.2\""))
                        && messages(lines).stream().anyMatch(m -> m.startsWith("shadow rule 'try-block' of listener 'svc'")));

                try (TestClient pended = TestClient.connect(loopback(3), listener.localAddress())) {
                    await().atMost(DEADLINE).until(() -> listener.pendingCount() == 1);
                    gateway.stop();
                    // No wait: the audit log drains before the close returns, and its writer has ended.
                    assertThat(writers.iterator().next().isAlive()).isFalse();
                    assertThat(messages(lines)).anyMatch(m -> m.contains("\"ip\":\"127.0.0.3\"") && m.contains("\"decidedBy\":\"shutdown\""));
                }
            } finally {
                gateway.stop();
                audit.detachAppender(lines);
                shadow.detachAppender(lines);
            }
        }
    }

    private static Set<Thread> auditWriters() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("portcullis-audit"))
                .collect(Collectors.toCollection(HashSet::new));
    }

    private static List<String> messages(ListAppender<ILoggingEvent> appender) {
        synchronized (appender) {
            return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }
}
