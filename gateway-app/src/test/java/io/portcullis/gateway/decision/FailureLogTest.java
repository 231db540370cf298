package io.portcullis.gateway.decision;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A burst of failures makes one warning, not one per connection. */
class FailureLogTest {

    @Test
    void aBurstLogsOnce() {
        Logger logger = (Logger) LoggerFactory.getLogger("test.decision.failures");
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            FailureLog log = new FailureLog(logger, "Decision service 'authz'");
            for (int i = 0; i < 1000; i++) {
                log.failed("HTTP status 503", "on-failure reject decides reject");
            }
            assertThat(appender.list).hasSize(1);
            assertThat(appender.list.get(0).getFormattedMessage())
                    .isEqualTo("Decision service 'authz' failed: HTTP status 503; on-failure reject decides reject");
        } finally {
            logger.detachAppender(appender);
        }
    }
}
