package io.portcullis.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.gateway.testing.StartFailure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A wrong key or value stops the start, and the message names the key or the file position. */
class ConfigurationErrorsTest {

    @TempDir
    Path dir;

    private static final String[] LISTENER = {
        "--server.port=0",
        "--portcullis.listeners[0].name=db",
        "--portcullis.listeners[0].backends[0]=127.0.0.1:9",
    };

    private Throwable startFailure(String... extra) {
        List<String> args = new ArrayList<>(List.of(LISTENER));
        args.addAll(List.of(extra));
        if (args.stream().noneMatch(a -> a.startsWith("--portcullis.listeners[0].bind="))) {
            args.add("--portcullis.listeners[0].bind=127.0.0.1:0");
        }
        return StartFailure.of(args.toArray(String[]::new));
    }

    private static String messages(Throwable t) {
        return StartFailure.messages(t);
    }

    private Path rules(String yaml) throws Exception {
        Path file = dir.resolve("rules.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    @Test
    void badEnumValueNamesTheKey() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.listeners[0].balance=fastest");
        assertThat(messages(t)).contains("portcullis.listeners[0].balance");
    }

    @Test
    void unknownTransportNamesTheKey() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.transport=dpdk");
        assertThat(messages(t)).contains("portcullis.transport").contains("io_uring");
    }

    @Test
    void unknownKeyNamesTheKey() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.listeners[0].conditonal-accept=false");
        assertThat(messages(t)).contains("portcullis.listeners[0].conditonal-accept");
    }

    @Test
    void badAddressNamesTheKey() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.listeners[0].backends[1]=nowhere");
        assertThat(messages(t)).contains("portcullis.listeners[0].backends[1]").contains("host:port");
    }

    @Test
    void pendIsNotAnOnTimeoutAction() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.listeners[0].inspect.on-timeout=pend");
        assertThat(messages(t)).contains("portcullis.listeners[0].inspect.on-timeout");
    }

    @Test
    void badDurationNamesTheKey() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.listeners[0].inspect.timeout=soon");
        assertThat(messages(t)).contains("portcullis.listeners[0].inspect.timeout");
    }

    @Test
    void inspectingListenerNeedsRules() {
        Throwable t = startFailure();
        assertThat(messages(t)).contains("portcullis.rules must be set");
    }

    @Test
    void malformedRulesFileStopsTheStartWithFileLineColumn() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules:\n      - name: x\n        action: acept\n    default: reject\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules);
        assertThat(messages(t)).contains("rules.yaml:5:17").contains("acept");
    }

    @Test
    void rulesFileMustCoverInspectingListeners() throws Exception {
        Path rules = rules("listeners:\n  other:\n    rules: []\n    default: accept\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules);
        assertThat(messages(t)).contains("no rules for listener(s) [db]").contains("other");
    }

    @Test
    void occupiedBindAddressStopsTheStart() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
            Throwable t = startFailure("--portcullis.rules=file:" + rules,
                    "--portcullis.listeners[0].bind=127.0.0.1:" + taken.getLocalPort());
            assertThat(messages(t)).contains("listener 'db': cannot bind");
        }
    }

    @Test
    void shortAdminTokenStopsTheStartWithoutShowingIt() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        String token = "only-15-chars-x";
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.admin.token=" + token);
        assertThat(messages(t)).contains("portcullis.admin.token is too short: it must have at least 16 characters")
                .doesNotContain(token);
    }

    @Test
    void adminTokenFromAnUnsetVariableStopsTheStart() throws Exception {
        // The form the README once showed: without the ':' an unset variable is kept as the literal text.
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Files.writeString(dir.resolve("application.yml"), "portcullis:\n  admin:\n    token: ${PORTCULLIS_TEST_UNSET_VARIABLE}\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--spring.config.additional-location=file:" + dir + "/");
        assertThat(messages(t)).contains("portcullis.admin.token still holds '${'")
                .contains("write ${PORTCULLIS_ADMIN_TOKEN:} (with the colon)");
    }

    @Test
    void adminTokenThatNoHeaderCanCarryStopsTheStart() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        String token = "a token with spaces in it";
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.admin.token=" + token);
        assertThat(messages(t)).contains("portcullis.admin.token must be visible ASCII characters only")
                .doesNotContain(token);
    }
}
