package io.portcullis.gateway.metrics;

import io.portcullis.gateway.listener.InspectionEnd;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * One JSON line per ended inspection, on the logger {@value #LOGGER} so it can be routed to its own
 * sink or silenced ({@code logging.level.io.portcullis.audit=off}). Nothing is built when it is off.
 */
public final class AuditLog {

    public static final String LOGGER = "io.portcullis.audit";

    private static final Logger log = LoggerFactory.getLogger(LOGGER);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Writes the line. Event loop; does no I/O itself beyond the logging backend's. */
    public void write(InspectionEnd end) {
        if (!log.isInfoEnabled()) {
            return;
        }
        log.info(JSON.writeValueAsString(fields(end)));
    }

    static Map<String, Object> fields(InspectionEnd end) {
        InspectRequest r = end.request();
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("id", r.id().toString());
        line.put("listener", r.listener());
        line.put("source", Map.of("ip", r.source().getAddress().getHostAddress(), "port", r.source().getPort()));
        line.put("destination", Map.of("ip", r.destination().getAddress().getHostAddress(), "port", r.destination().getPort()));
        line.put("sni", r.sni().orElse(null));
        line.put("alpn", r.alpn());
        line.put("rule", end.rule());
        line.put("action", end.action().map(InspectAction::label).orElse(null));
        line.put("outcome", end.outcome());
        line.put("decidedBy", end.decidedBy());
        line.put("reason", end.reason().orElse(null));
        line.put("receivedAt", r.receivedAt().toString());
        line.put("inspectMicros", end.inspectNanos() / 1_000);
        line.put("pendMillis", end.pendNanos() / 1_000_000);
        return line;
    }
}
