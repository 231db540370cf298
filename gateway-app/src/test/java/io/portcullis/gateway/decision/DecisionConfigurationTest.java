package io.portcullis.gateway.decision;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.gateway.testing.StartFailure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A decision service that rules.yaml names but the configuration lacks, or a bad service key, stops the start
 * with a message naming it (validation names the key as Spring does: {@code decisionServices[authz].url}).
 */
class DecisionConfigurationTest {

    @TempDir
    Path dir;

    private Throwable startFailure(String rules, String... extra) throws Exception {
        Path file = dir.resolve("rules.yaml");
        Files.writeString(file, rules);
        List<String> args = new ArrayList<>(List.of(
                "--server.port=0",
                "--portcullis.rules=file:" + file,
                "--portcullis.listeners[0].name=db",
                "--portcullis.listeners[0].bind=127.0.0.1:0",
                "--portcullis.listeners[0].backends[0]=127.0.0.1:9"));
        args.addAll(List.of(extra));
        return StartFailure.of(args.toArray(String[]::new));
    }

    private static String messages(Throwable t) {
        return StartFailure.messages(t);
    }

    private static final String ASKS_AUTHZ = """
            listeners:
              db:
                rules:
                  - name: ask
                    action: pend
                    decision: authz
                default: reject
            """;

    @Test
    void anUnknownDecisionNameStopsTheStart() throws Exception {
        Throwable t = startFailure(ASKS_AUTHZ, "--portcullis.decision-services.opa.type=opa",
                "--portcullis.decision-services.opa.url=http://127.0.0.1:8181/v1/data/allow");
        assertThat(messages(t)).contains("rule 'ask' of listener 'db' names decision service 'authz', which is not "
                + "configured (configured: opa)");
    }

    @Test
    void aUrlThatIsNotHttpNamesTheKey() throws Exception {
        Throwable t = startFailure(ASKS_AUTHZ, "--portcullis.decision-services.authz.url=ftp://127.0.0.1/decide");
        assertThat(messages(t)).contains("decisionServices[authz].urlValid").contains("http:// or https://");
    }

    @Test
    void aMissingUrlNamesTheKey() throws Exception {
        Throwable t = startFailure(ASKS_AUTHZ, "--portcullis.decision-services.authz.type=http");
        assertThat(messages(t)).contains("decisionServices[authz].url").contains("must not be null");
    }

    @Test
    void aBadOnFailureNamesTheKey() throws Exception {
        Throwable t = startFailure(ASKS_AUTHZ, "--portcullis.decision-services.authz.url=http://127.0.0.1:1/",
                "--portcullis.decision-services.authz.on-failure=maybe");
        assertThat(messages(t)).contains("portcullis.decision-services.authz.on-failure");
    }

    @Test
    void aTimeoutOutOfRangeNamesTheKey() throws Exception {
        Throwable t = startFailure(ASKS_AUTHZ, "--portcullis.decision-services.authz.url=http://127.0.0.1:1/",
                "--portcullis.decision-services.authz.timeout=5m");
        assertThat(messages(t)).contains("decisionServices[authz].timeoutValid").contains("timeout must be between 1ms and 60s");
    }
}
