package io.portcullis.gateway.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.portcullis.gateway.listener.InspectionEnd;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class AuditLogTest {

    @Test
    void writesOneJsonLineWithTheContractFields() {
        Logger logger = (Logger) LoggerFactory.getLogger(AuditLog.LOGGER);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            InspectRequest request = InspectRequest.of(new InspectId(77), "db",
                    new InetSocketAddress("127.0.0.3", 40000), new InetSocketAddress("127.0.0.1", 5432),
                    Instant.parse("2026-11-25T12:00:00Z")).withTls(Optional.of("db.example.com"), List.of("postgresql"));
            new AuditLog().write(new InspectionEnd(request, "ask-authz", Optional.of(InspectAction.REJECT), "reject",
                    "service", Optional.of("not on the list \"x\""), 12_000, 250_000_000));

            assertThat(appender.list).hasSize(1);
            String line = appender.list.get(0).getFormattedMessage();
            assertThat(line).doesNotContain("\n");
            JsonNode json = JsonMapper.builder().build().readTree(line);
            assertThat(json.get("id").asString()).isEqualTo("77");
            assertThat(json.get("listener").asString()).isEqualTo("db");
            assertThat(json.get("source").get("ip").asString()).isEqualTo("127.0.0.3");
            assertThat(json.get("destination").get("port").asInt()).isEqualTo(5432);
            assertThat(json.get("sni").asString()).isEqualTo("db.example.com");
            assertThat(json.get("alpn").get(0).asString()).isEqualTo("postgresql");
            assertThat(json.get("rule").asString()).isEqualTo("ask-authz");
            assertThat(json.get("action").asString()).isEqualTo("reject");
            assertThat(json.get("outcome").asString()).isEqualTo("reject");
            assertThat(json.get("decidedBy").asString()).isEqualTo("service");
            assertThat(json.get("reason").asString()).isEqualTo("not on the list \"x\"");
            assertThat(json.get("pendMillis").asLong()).isEqualTo(250);
        } finally {
            logger.detachAppender(appender);
        }
    }
}
