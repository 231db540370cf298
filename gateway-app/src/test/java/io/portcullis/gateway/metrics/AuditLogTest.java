package io.portcullis.gateway.metrics;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.concurrent.Future;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.InspectionEnd;
import io.portcullis.core.TlsHello;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The audit and shadow logs: the lines keep their format, are written by the writer thread and never by the
 * caller, a full queue drops and counts, the writer outlives a failing appender, and close drains.
 * A {@link Gate} appender stalls the writer deterministically: it holds the writer inside the appender.
 */
class AuditLogTest {

    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final AtomicInteger TESTS = new AtomicInteger();

    private final Logger auditLogger = (Logger) LoggerFactory.getLogger(AuditLog.LOGGER);
    private final Logger shadowLogger = (Logger) LoggerFactory.getLogger(AuditLog.SHADOW_LOGGER);
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    /** Unique per test: other tests' gateways may still log on the same loggers. */
    private final String listener = "audit-test-" + TESTS.incrementAndGet();
    private Gate gate;
    private AuditLog log;

    @BeforeEach
    void attach() {
        gate = new Gate(listener);
        gate.start();
        auditLogger.addAppender(gate);
        shadowLogger.addAppender(gate);
    }

    @AfterEach
    void detach() {
        gate.release.countDown();
        if (log != null) {
            log.close(DEADLINE);
        }
        auditLogger.detachAppender(gate);
        shadowLogger.detachAppender(gate);
        gate.stop();
    }

    private InspectionEnd end(long id) {
        InspectRequest request = InspectRequest.of(new InspectId(id), listener,
                new InetSocketAddress("127.0.0.3", 40000), new InetSocketAddress("127.0.0.1", 5432),
                Instant.parse("2026-11-25T12:00:00Z")).withTls(new TlsHello(Optional.of("db.example.com"), List.of("postgresql"), List.of("TLSv1.3"),
                        "t13d1516h2_8daaf6152771_e5627efa2ab1"));
        return new InspectionEnd(request, "ask-authz", Optional.of(InspectAction.REJECT), "reject",
                "service", Optional.of("not on the list \"x\""), 12_000, 250_000_000);
    }

    private double dropped(String which) {
        return registry.get("portcullis.audit.dropped").tag("log", which).counter().count();
    }

    /** Holds the writer in the appender at the next line and waits until it is there. */
    private void stallWriter() throws InterruptedException {
        gate.hold = true;
        log.inspectionEnded(end(1000));
        assertThat(gate.entered.await(DEADLINE.toSeconds(), TimeUnit.SECONDS)).as("the writer reached the appender").isTrue();
    }

    @Test
    void writesOneJsonLineWithTheContractFieldsOnTheWriterThread() {
        log = new AuditLog(registry, 16);
        log.inspectionEnded(end(77));

        await().atMost(DEADLINE).until(() -> gate.events.size() == 1);
        ILoggingEvent event = gate.events.get(0);
        assertThat(event.getThreadName()).isEqualTo("portcullis-audit");
        String line = event.getFormattedMessage();
        assertThat(line).doesNotContain("\n");
        JsonNode json = JsonMapper.builder().build().readTree(line);
        assertThat(json.get("id").asString()).isEqualTo("77");
        assertThat(json.get("listener").asString()).isEqualTo(listener);
        assertThat(json.get("source").get("ip").asString()).isEqualTo("127.0.0.3");
        assertThat(json.get("destination").get("port").asInt()).isEqualTo(5432);
        assertThat(json.get("sni").asString()).isEqualTo("db.example.com");
        assertThat(json.get("alpn").get(0).asString()).isEqualTo("postgresql");
        assertThat(json.get("rule").asString()).isEqualTo("ask-authz");
        assertThat(json.get("action").asString()).isEqualTo("reject");
        assertThat(json.get("outcome").asString()).isEqualTo("reject");
        assertThat(json.get("decidedBy").asString()).isEqualTo("service");
        assertThat(json.get("reason").asString()).isEqualTo("not on the list \"x\"");
        assertThat(json.get("inspectMicros").asLong()).isEqualTo(12);
        assertThat(json.get("pendMillis").asLong()).isEqualTo(250);
        assertThat(line).startsWith("{\"id\":\"77\",\"listener\":");
        assertThat(dropped("audit")).isZero();
    }

    /** Every field in one order, nested ones too, so a line reads the same from one start to the next. */
    @Test
    void linesHaveTheirFieldsInAFixedOrder() {
        InspectRequest request = InspectRequest.of(new InspectId(5), "edge", new InetSocketAddress("::1", 40000),
                new InetSocketAddress("127.0.0.1", 5432), Instant.parse("2026-11-25T12:00:00Z"));
        InspectionEnd end = new InspectionEnd(request, "by-name", Optional.of(InspectAction.ACCEPT), "accept", "rule",
                Optional.empty(), 1_999, 0, Optional.of("api"));
        String connection = "{\"id\":\"5\",\"listener\":\"edge\","
                + "\"source\":{\"ip\":\"0:0:0:0:0:0:0:1\",\"port\":40000},"
                + "\"destination\":{\"ip\":\"127.0.0.1\",\"port\":5432},"
                + "\"peer\":{\"ip\":\"0:0:0:0:0:0:0:1\",\"port\":40000},"
                + "\"sni\":null,\"alpn\":[],\"ja4\":null,";
        assertThat(AuditLog.json(end)).isEqualTo(connection
                + "\"rule\":\"by-name\",\"action\":\"accept\",\"outcome\":\"accept\",\"decidedBy\":\"rule\","
                + "\"reason\":null,\"route\":\"api\",\"receivedAt\":\"2026-11-25T12:00:00Z\","
                + "\"inspectMicros\":1,\"pendMillis\":0}");
        assertThat(AuditLog.json(new AuditLog.RecheckLine(request, "blocked", true))).isEqualTo(connection
                + "\"rule\":\"blocked\",\"action\":\"reject\",\"outcome\":\"recheck-closed\","
                + "\"decidedBy\":\"recheck\",\"receivedAt\":\"2026-11-25T12:00:00Z\"}");
    }

    @Test
    void shadowLineKeepsItsFormatAndIsWrittenOnTheWriterThread() {
        log = new AuditLog(registry, 16);
        shadow(log, end(78).request());

        await().atMost(DEADLINE).until(() -> gate.events.size() == 1);
        ILoggingEvent event = gate.events.get(0);
        assertThat(event.getLoggerName()).isEqualTo(AuditLog.SHADOW_LOGGER);
        assertThat(event.getThreadName()).isEqualTo("portcullis-audit");
        assertThat(event.getFormattedMessage())
                .isEqualTo("shadow rule 'try-new-rule' of listener '" + listener + "' would reject 78 (/127.0.0.3:40000)");
    }

    @Test
    void aFullQueueDropsAndCountsByLog() throws Exception {
        log = new AuditLog(registry, 4);
        stallWriter();
        for (int i = 1; i <= 4; i++) {
            log.inspectionEnded(end(i));
        }
        assertThat(log.queued()).isEqualTo(4);
        assertThat(dropped("audit")).isZero();

        for (int i = 5; i <= 7; i++) {
            log.inspectionEnded(end(i));
        }
        shadow(log, end(8).request());
        shadow(log, end(9).request());
        assertThat(dropped("audit")).isEqualTo(3);
        assertThat(dropped("shadow")).isEqualTo(2);

        gate.release.countDown();
        await().atMost(DEADLINE).until(() -> gate.events.size() == 5);
        assertThat(gate.ids()).containsExactly("1000", "1", "2", "3", "4");
        assertThat(dropped("audit")).isEqualTo(3);
        assertThat(log.queued()).isZero();
    }

    @Test
    void anEventLoopNeverWaitsForAStalledWriter() throws Exception {
        log = new AuditLog(registry, 16);
        stallWriter();
        DefaultEventLoop loop = new DefaultEventLoop();
        try {
            // 1000 lines from an I/O thread while the writer is held: with a synchronous write the first
            // one would wait in the appender until the release below, and the task would not end.
            Future<?> task = loop.submit(() -> {
                for (int i = 1; i <= 1000; i++) {
                    log.inspectionEnded(end(i));
                    shadow(log, end(i).request());
                }
            });
            assertThat(task.await(DEADLINE.toMillis())).as("the event loop's task ended while the writer was held").isTrue();
            assertThat(task.isSuccess()).isTrue();
            assertThat(gate.events).hasSize(1);
            assertThat(dropped("audit") + dropped("shadow") + log.queued()).isEqualTo(2000);
        } finally {
            gate.release.countDown();
            loop.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(DEADLINE.toMillis());
        }
        double written = 2000 - dropped("audit") - dropped("shadow");
        await().atMost(DEADLINE).until(() -> gate.events.size() == 1 + (int) written);
    }

    @Test
    void theWriterOutlivesAnAppenderThatThrows() {
        log = new AuditLog(registry, 16);
        gate.throwOn = "\"id\":\"13\"";
        log.inspectionEnded(end(13));
        log.inspectionEnded(end(14));

        await().atMost(DEADLINE).until(() -> gate.events.size() == 1);
        assertThat(gate.ids()).containsExactly("14");
        assertThat(dropped("audit")).isEqualTo(1);
    }

    @Test
    void closeDrainsWhatIsQueuedAndLaterLinesAreDroppedAndCounted() throws Exception {
        log = new AuditLog(registry, 16);
        stallWriter();
        for (int i = 1; i <= 10; i++) {
            log.inspectionEnded(end(i));
        }
        Thread closing = new Thread(() -> log.close(DEADLINE));
        closing.start();
        gate.release.countDown();
        closing.join(DEADLINE.toMillis() * 2);
        assertThat(closing.isAlive()).isFalse();

        assertThat(gate.events).hasSize(11);
        assertThat(log.queued()).isZero();
        log.inspectionEnded(end(99));
        assertThat(dropped("audit")).isEqualTo(1);
        assertThat(log.queued()).isZero();
    }

    @Test
    void closeGivesUpAfterItsDeadlineWhenTheWriterIsStuck() throws Exception {
        log = new AuditLog(registry, 16);
        stallWriter();
        log.inspectionEnded(end(1));
        Thread closing = new Thread(() -> log.close(Duration.ofMillis(100)));
        closing.start();
        closing.join(DEADLINE.toMillis());
        assertThat(closing.isAlive()).as("close returned while the writer is still held").isFalse();
        assertThat(gate.release.getCount()).isEqualTo(1);
        gate.release.countDown();
        await().atMost(DEADLINE).until(() -> gate.events.size() == 2);
    }

    @Test
    void nothingIsQueuedWhileTheLoggerIsOff() {
        log = new AuditLog(registry, 16);
        Level level = auditLogger.getLevel();
        auditLogger.setLevel(Level.OFF);
        try {
            for (int i = 1; i <= 100; i++) {
                log.inspectionEnded(end(i));
            }
            assertThat(log.queued()).isZero();
            assertThat(dropped("audit")).isZero();
        } finally {
            auditLogger.setLevel(level);
        }
        log.inspectionEnded(end(101));
        await().atMost(DEADLINE).until(() -> gate.events.size() == 1);
        assertThat(gate.ids()).containsExactly("101");
    }

    /**
     * Keeps the lines of one test's listener. With {@code hold}, the next line holds the writer inside the
     * appender until {@code release} (the writer's later lines wait behind it); {@code throwOn} makes the appender throw an Error (which Logback does
     * not catch) for the first line containing it.
     */
    static final class Gate extends AppenderBase<ILoggingEvent> {
        final String listener;
        final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean hold;
        volatile String throwOn;

        Gate(String listener) {
            this.listener = listener;
        }

        @Override
        protected void append(ILoggingEvent event) {
            String message = event.getFormattedMessage();
            if (!message.contains("\"listener\":\"" + listener + "\"") && !message.contains("listener '" + listener + "'")) {
                return;
            }
            String poison = throwOn;
            if (poison != null && message.contains(poison)) {
                throwOn = null;
                throw new AssertionError("appender broke");
            }
            events.add(event);
            if (hold) {
                hold = false;
                entered.countDown();
                try {
                    release.await(DEADLINE.toSeconds() * 3, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        List<String> ids() {
            return events.stream().map(e -> JsonMapper.builder().build().readTree(e.getFormattedMessage()).get("id").asString())
                    .toList();
        }
    }

    /** What the policy's shadow rule 'try-new-rule' reports for {@code r}: a would-be reject. */
    private static void shadow(AuditLog log, InspectRequest r) {
        log.shadowVerdict(new io.portcullis.policy.model.InspectRequest(new io.portcullis.policy.model.InspectId(r.id().value()),
                        r.listener(), r.source(), r.destination(), r.receivedAt(), r.sni(), r.alpn()),
                new io.portcullis.policy.model.Verdict(io.portcullis.policy.model.InspectAction.REJECT, "try-new-rule"));
    }
}
