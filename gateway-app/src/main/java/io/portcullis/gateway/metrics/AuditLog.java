package io.portcullis.gateway.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.internal.PlatformDependent;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.InspectionEnd;
import io.portcullis.core.TlsHello;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.json.JsonMapper;

/**
 * The audit log (one JSON line per ended inspection, logger {@value #LOGGER}) and the shadow log (what a
 * shadow rule would have done, logger {@value #SHADOW_LOGGER}), written off the I/O threads.
 *
 * <p>The caller only offers the immutable facts to a bounded queue; one daemon thread formats and logs them.
 * When the queue is full the line is dropped and counted in {@code portcullis_audit_dropped_total{log}}, so a
 * slow log sink costs lines, never an event loop. A line that is off at the caller's check
 * ({@code logging.level.io.portcullis.audit=off}) is not queued.
 *
 * <p>Written by hand rather than with Logback's {@code AsyncAppender}: that one builds and formats the
 * event on the caller (our JSON would still be made on the I/O thread), discards INFO events silently once
 * 80 % full, blocks the caller by default, counts nothing, and lives in the user's logging configuration,
 * which could leave it out.
 */
public final class AuditLog implements AutoCloseable {

    public static final String LOGGER = "io.portcullis.audit";
    public static final String SHADOW_LOGGER = "io.portcullis.shadow";
    public static final int DEFAULT_QUEUE_SIZE = 65_536;
    /** How long {@link #close()} lets the writer drain what is queued. */
    public static final Duration DRAIN_DEADLINE = Duration.ofSeconds(5);
    /**
     * The writer checks the queue this often when it is idle. Callers do not wake it per line (a wake-up is a
     * system call on the I/O thread); they do once the queue is half full.
     */
    static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private static final Logger audit = LoggerFactory.getLogger(LOGGER);
    private static final Logger shadow = LoggerFactory.getLogger(SHADOW_LOGGER);
    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Queue<Object> queue;
    private final int wakeAt;
    private final Counter auditDropped;
    private final Counter shadowDropped;
    private final Thread writer;
    private final AtomicBoolean parked = new AtomicBoolean();
    private volatile boolean closed;
    private boolean failureReported;

    /**
     * Starts the writer thread.
     *
     * @param queueSize lines that may wait for the writer, rounded up to a power of two; at least 2
     */
    public AuditLog(MeterRegistry registry, int queueSize) {
        if (queueSize < 2) {
            throw new IllegalArgumentException("queue size must be at least 2, not " + queueSize);
        }
        queue = PlatformDependent.newFixedMpscQueue(queueSize);
        wakeAt = Math.max(1, queueSize / 2);
        auditDropped = dropped(registry, "audit");
        shadowDropped = dropped(registry, "shadow");
        writer = new Thread(this::run, "portcullis-audit");
        writer.setDaemon(true);
        writer.start();
    }

    private static Counter dropped(MeterRegistry registry, String log) {
        return Counter.builder("portcullis.audit.dropped")
                .description("Audit and shadow log lines not written: the queue to the writer was full, or logging failed")
                .tag("log", log).register(registry);
    }

    /** Queues the audit line of an ended inspection. Any thread; never blocks. */
    public void inspectionEnded(InspectionEnd end) {
        if (audit.isInfoEnabled()) {
            offer(end, auditDropped);
        }
    }

    /** Queues the audit line of a live connection a recheck rejects ({@code reset}) or would reject. Any thread; never blocks. */
    public void rechecked(InspectRequest request, String rule, boolean reset) {
        if (audit.isInfoEnabled()) {
            offer(new RecheckLine(request, rule, reset), auditDropped);
        }
    }

    /** Queues the shadow log line of a shadow rule's would-be verdict. Any thread; never blocks. */
    public void shadowVerdict(io.portcullis.policy.model.InspectRequest request, io.portcullis.policy.model.Verdict wouldBe) {
        if (shadow.isInfoEnabled()) {
            offer(new ShadowLine(request, wouldBe), shadowDropped);
        }
    }

    private void offer(Object line, Counter dropped) {
        if (closed || !queue.offer(line)) {
            dropped.increment();
            return;
        }
        if (parked.get() && queue.size() >= wakeAt && parked.compareAndSet(true, false)) {
            LockSupport.unpark(writer);
        }
    }

    private void run() {
        while (true) {
            Object line = queue.poll();
            if (line != null) {
                write(line);
            } else if (closed) {
                return;
            } else {
                parked.set(true);
                LockSupport.parkNanos(this, IDLE_PARK_NANOS);
                parked.set(false);
            }
        }
    }

    private void write(Object line) {
        try {
            if (line instanceof InspectionEnd end) {
                audit.info(json(end));
            } else if (line instanceof RecheckLine r) {
                audit.info(json(r));
            } else {
                ShadowLine s = (ShadowLine) line;
                shadow.info("shadow rule '{}' of listener '{}' would {} {} ({})", s.wouldBe.rule(), s.request.listener(),
                        s.wouldBe.action().label(), s.request.id(), s.request.source());
            }
        } catch (Throwable t) {
            // The writer is the only way out for every later line: it outlives a broken appender.
            (line instanceof ShadowLine ? shadowDropped : auditDropped).increment();
            if (!failureReported) {
                failureReported = true;
                log.warn("An audit or shadow line could not be logged; such lines are counted in "
                        + "portcullis_audit_dropped_total and not reported again", t);
            }
        }
    }

    /**
     * Stops taking lines (later ones are dropped and counted) and lets the writer drain what is queued, for at
     * most {@link #DRAIN_DEADLINE}. Call it after the I/O threads have stopped.
     */
    @Override
    public void close() {
        close(DRAIN_DEADLINE);
    }

    /** {@link #close()} with another deadline. */
    public void close(Duration deadline) {
        closed = true;
        LockSupport.unpark(writer);
        try {
            // Never interrupt the writer: an interrupt in the middle of a file appender's write closes its file.
            writer.join(Math.max(1, deadline.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            log.warn("The audit writer did not finish within {}; about {} audit and shadow lines were not written",
                    deadline, queue.size());
        }
    }

    /** Lines waiting for the writer now. Any thread. */
    int queued() {
        return queue.size();
    }

    /*
     * Written field by field with Jackson's generator rather than as maps through the mapper: the nested objects
     * (Map.of) came out in an order that changed from one JVM to the next, and no maps are built per line.
     */

    /** The audit line of an ended inspection. */
    static String json(InspectionEnd end) {
        return line(end.request(), g -> {
            g.writeStringProperty("rule", end.rule());
            g.writeStringProperty("action", end.action().map(InspectAction::label).orElse(null));
            g.writeStringProperty("outcome", end.outcome());
            g.writeStringProperty("decidedBy", end.decidedBy());
            g.writeStringProperty("reason", end.reason().orElse(null));
            // Only when set: lines of listeners without pools stay as they were.
            if (end.route().isPresent()) {
                g.writeStringProperty("route", end.route().get());
            }
            g.writeStringProperty("receivedAt", end.request().receivedAt().toString());
            g.writeNumberProperty("inspectMicros", end.inspectNanos() / 1_000);
            g.writeNumberProperty("pendMillis", end.pendNanos() / 1_000_000);
        });
    }

    /** A live connection judged again after a reload: the inspection's connection fields, and what the recheck did. */
    static String json(RecheckLine recheck) {
        return line(recheck.request, g -> {
            g.writeStringProperty("rule", recheck.rule);
            g.writeStringProperty("action", "reject");
            g.writeStringProperty("outcome", recheck.reset ? "recheck-closed" : "recheck-would-close");
            g.writeStringProperty("decidedBy", "recheck");
            g.writeStringProperty("receivedAt", recheck.request.receivedAt().toString());
        });
    }

    /** One JSON object: the connection's fields of {@code r}, then what {@code rest} writes. */
    private static String line(InspectRequest r, Consumer<JsonGenerator> rest) {
        StringWriter out = new StringWriter(512);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            connection(g, r);
            rest.accept(g);
            g.writeEndObject();
        }
        return out.toString();
    }

    private static void connection(JsonGenerator g, InspectRequest r) {
        g.writeStringProperty("id", r.id().toString());
        g.writeStringProperty("listener", r.listener());
        address(g, "source", r.source());
        address(g, "destination", r.destination());
        address(g, "peer", r.peer());
        g.writeStringProperty("sni", r.sni().orElse(null));
        g.writeArrayPropertyStart("alpn");
        for (String protocol : r.alpn()) {
            g.writeString(protocol);
        }
        g.writeEndArray();
        g.writeStringProperty("ja4", r.tls().map(TlsHello::ja4).orElse(null));
    }

    private static void address(JsonGenerator g, String name, InetSocketAddress address) {
        g.writeObjectPropertyStart(name);
        g.writeStringProperty("ip", address.getAddress().getHostAddress());
        g.writeNumberProperty("port", address.getPort());
        g.writeEndObject();
    }

    record RecheckLine(InspectRequest request, String rule, boolean reset) {
    }

    private record ShadowLine(io.portcullis.policy.model.InspectRequest request, io.portcullis.policy.model.Verdict wouldBe) {
    }
}
