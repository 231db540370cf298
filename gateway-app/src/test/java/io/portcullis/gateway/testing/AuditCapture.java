package io.portcullis.gateway.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.portcullis.gateway.metrics.AuditLog;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Keeps the audit lines written while attached, to check who decided an inspection and why. */
public final class AuditCapture implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Logger logger = (Logger) LoggerFactory.getLogger(AuditLog.LOGGER);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    public AuditCapture() {
        appender.start();
        logger.addAppender(appender);
    }

    /** The last audit line of a connection from {@code ip}, if one was written. */
    public Optional<JsonNode> last(String ip) {
        List<JsonNode> lines = of(ip);
        return lines.isEmpty() ? Optional.empty() : Optional.of(lines.get(lines.size() - 1));
    }

    /** The audit lines of connections from {@code ip} written so far, oldest first. */
    public List<JsonNode> of(String ip) {
        List<ILoggingEvent> events;
        synchronized (appender) {
            events = List.copyOf(appender.list);
        }
        List<JsonNode> found = new ArrayList<>();
        for (ILoggingEvent e : events) {
            JsonNode line = JSON.readTree(e.getFormattedMessage());
            if (ip.equals(line.get("source").get("ip").asString())) {
                found.add(line);
            }
        }
        return found;
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
    }
}
