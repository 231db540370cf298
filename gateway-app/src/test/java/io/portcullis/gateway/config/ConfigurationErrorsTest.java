package io.portcullis.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.gateway.testing.StartFailure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A wrong key or value stops the start, and what the operator reads (the failure analysis) is one line per
 * error: where (the absolute path of the file read, line and column), the key, the value found and what was
 * expected in the file's own spelling.
 */
class ConfigurationErrorsTest {

    @TempDir
    Path dir;

    private static final String[] LISTENER = {
        "--server.port=0",
        "--portcullis.listeners[0].name=db",
        "--portcullis.listeners[0].backends[0]=127.0.0.1:9",
    };

    private static final String COVERING_RULES = "listeners:\n  db:\n    rules: []\n    default: accept\n";

    private Throwable startFailure(String... extra) {
        List<String> args = new ArrayList<>(List.of(LISTENER));
        args.addAll(List.of(extra));
        if (args.stream().noneMatch(a -> a.startsWith("--portcullis.listeners[0].bind="))) {
            args.add("--portcullis.listeners[0].bind=127.0.0.1:0");
        }
        return StartFailure.of(args.toArray(String[]::new));
    }

    /** The error lines of a start that failed with these arguments (a rules file covering 'db' unless given). */
    private List<String> errors(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of(extra));
        if (args.stream().noneMatch(a -> a.startsWith("--portcullis.rules="))) {
            args.add("--portcullis.rules=file:" + rules(COVERING_RULES));
        }
        return StartFailure.errors(startFailure(args.toArray(String[]::new)));
    }

    /** application.yml with the listener 'db' and {@code keys} (YAML, written as at the top level) in it, from line 6. */
    private Path listenerDbWith(String keys) throws Exception {
        return Files.writeString(dir.resolve("application.yml"), """
                portcullis:
                  listeners:
                    - name: db
                      bind: 127.0.0.1:0
                      backends: [127.0.0.1:9]
                """ + keys.indent(6));
    }

    /** The error lines of a start with {@code app} as an application.yml on top (and rules covering 'db'). */
    private List<String> errorsWithFile(Path app) throws Exception {
        return StartFailure.errors(StartFailure.of("--server.port=0", "--portcullis.rules=file:" + rules(COVERING_RULES),
                "--spring.config.additional-location=file:" + app));
    }

    private Path rules(String yaml) throws Exception {
        Path file = dir.resolve("rules.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    @Test
    void badEnumValueNamesTheKeyAndTheValuesAsTheFileSpellsThem() throws Exception {
        List<String> errors = errors("--portcullis.listeners[0].balance=fastest");
        assertThat(errors).containsExactly("portcullis.listeners[0].balance: found 'fastest', expected round-robin, "
                + "least-connections or source-hash (from the command line)");
        assertThat(StartFailure.report(startFailure("--portcullis.rules=file:" + rules(COVERING_RULES),
                "--portcullis.listeners[0].balance=fastest")))
                .doesNotContain("LEAST_CONNECTIONS").doesNotContain("io.portcullis.core.relay.Balance");
    }

    @Test
    void peekingKeysAreCheckedAndNamed() throws Exception {
        assertThat(errors("--portcullis.listeners[0].proxy-protocol.accept=maybe")).singleElement().asString()
                .startsWith("portcullis.listeners[0].proxy-protocol.accept: found 'maybe', expected off, optional or required");
        assertThat(errors("--portcullis.listeners[0].proxy-protocol.send=v3")).singleElement().asString()
                .startsWith("portcullis.listeners[0].proxy-protocol.send: found 'v3', expected off, v1 or v2");
        assertThat(errors("--portcullis.listeners[0].peek.on-not-tls=drop")).singleElement().asString()
                .startsWith("portcullis.listeners[0].peek.on-not-tls: found 'drop', expected reject or continue");
        assertThat(errors("--portcullis.listeners[0].proxy-protocol.accept=required")).singleElement().asString()
                .startsWith("portcullis.listeners[0].proxy-protocol.trusted: must name the load balancers");
        assertThat(errors("--portcullis.listeners[0].proxy-protocol.accept=optional",
                "--portcullis.listeners[0].proxy-protocol.trusted[0]=lb.example.com")).singleElement().asString()
                .startsWith("portcullis.listeners[0].proxy-protocol.trusted: entries must be IP addresses or CIDRs");
        assertThat(errors("--portcullis.listeners[0].proxy-protocol.accept=optional",
                "--portcullis.listeners[0].proxy-protocol.trusted[0]=10.0.0.0/33")).singleElement().asString()
                .contains("trusted: entries must be IP addresses or CIDRs");
        assertThat(errors("--portcullis.listeners[0].peek.max-bytes=100")).singleElement().asString()
                .startsWith("portcullis.listeners[0].peek.max-bytes:");
        assertThat(errors("--portcullis.listeners[0].peek.timeout=0s")).singleElement().asString()
                .isEqualTo("portcullis.listeners[0].peek.timeout: found '0s', which must be between 1ms and 1m (from the command line)");
    }

    @Test
    void earlyRejectAndRecheckKeysAreCheckedAndNamed() throws Exception {
        assertThat(errors("--portcullis.listeners[0].early-reject=bpf")).singleElement().asString()
                .startsWith("portcullis.listeners[0].early-reject: found 'bpf', expected kernel or off");
        assertThat(errors("--portcullis.listeners[0].recheck-on-reload=drop")).singleElement().asString()
                .startsWith("portcullis.listeners[0].recheck-on-reload: found 'drop', expected off, close or log");
        // Behind a PROXY header the kernel sees the balancer: filtering it would cut every client off.
        assertThat(errors("--portcullis.listeners[0].early-reject=kernel",
                "--portcullis.listeners[0].proxy-protocol.accept=optional",
                "--portcullis.listeners[0].proxy-protocol.trusted[0]=10.0.0.1")).singleElement().asString()
                .contains("early-reject: kernel needs conditional-accept: true and proxy-protocol.accept: off");
        assertThat(errors("--portcullis.listeners[0].recheck-on-reload=close",
                "--portcullis.listeners[0].conditional-accept=false")).singleElement().asString()
                .contains("recheck-on-reload: found 'close', which needs conditional-accept: true");
    }

    /** YAML 1.1 reads a bare {@code off} as false: the keys must still take it as the value off. */
    @Test
    void bareOffInYamlIsOff() throws Exception {
        Path rules = rules(COVERING_RULES);
        Path app = Files.writeString(dir.resolve("application.yml"), """
                portcullis:
                  rules: file:%s
                  listeners:
                    - name: db
                      bind: 127.0.0.1:0
                      backends: [127.0.0.1:9]
                      early-reject: off
                      recheck-on-reload: off
                """.formatted(rules));
        try (var g = new io.portcullis.gateway.testing.GatewayUnderTest()
                .properties("spring.config.additional-location=file:" + app).start()) {
            assertThat(g.bean(io.portcullis.gateway.policy.LiveEnforcement.class).earlyReject("db")).isEmpty();
            assertThat(g.bean(io.portcullis.gateway.policy.LiveEnforcement.class).recheckMode("db"))
                    .isEqualTo(io.portcullis.gateway.policy.LiveEnforcement.RecheckMode.OFF);
        }
    }

    @Test
    void snIRulesOnAListenerThatPeeksStart() throws Exception {
        // The refusal of sni rules where nothing peeks is lifted by peek.tls: the start gets past the policy.
        Path file = rules("listeners:\n  db:\n    rules:\n      - name: n\n        sni: [a.example]\n"
                + "        action: accept\n    default: reject\n");
        assertThat(errors("--portcullis.rules=file:" + file)).singleElement().asString()
                .contains("does not peek at TLS");
        try (var g = new io.portcullis.gateway.testing.GatewayUnderTest()) {
            g.rules("listeners:\n  db:\n    rules:\n      - name: n\n        sni: [a.example]\n"
                    + "        action: accept\n    default: reject\n")
                    .addListener("db", "peek.tls=true").start();
            assertThat(g.listener("db").settings().peek().tls()).isTrue();
        }
    }

    @Test
    void pendIsNotAnOnTimeoutAction() throws Exception {
        assertThat(errors("--portcullis.listeners[0].inspect.on-timeout=pend")).containsExactly(
                "portcullis.listeners[0].inspect.on-timeout: found 'pend', expected accept or reject (from the command line)");
    }

    @Test
    void unknownTransportNamesTheKey() throws Exception {
        assertThat(errors("--portcullis.transport=dpdk")).containsExactly(
                "portcullis.transport: found 'dpdk', which must be auto, io_uring, epoll or nio (from the command line)");
    }

    @Test
    void unknownKeyNamesTheKeyAndTheNearestKnownOne() throws Exception {
        assertThat(errors("--portcullis.listeners[0].conditonal-accept=false")).containsExactly(
                "portcullis.listeners[0].conditonal-accept: unknown key; did you mean 'conditional-accept'? (from the command line)");
    }

    /**
     * Below a known key of a list item (a listener's peek, proxy-protocol, pools, ...), where Spring's own check
     * takes an unknown key for the left-over of an overridden list and says nothing: the listener would run
     * without what the operator meant.
     */
    @Test
    void aMisspeltKeyInsideAListenersSectionStopsTheStart() throws Exception {
        assertThat(errors("--portcullis.listeners[0].peek.tlz=true")).containsExactly(
                "portcullis.listeners[0].peek.tlz: unknown key; did you mean 'tls'? (from the command line)");
        assertThat(errors("--portcullis.listeners[0].proxy-protocol.acept=required")).containsExactly(
                "portcullis.listeners[0].proxy-protocol.acept: unknown key; did you mean 'accept'? (from the command line)");
        assertThat(errors("--portcullis.listeners[0].inspect.max-pendng=10")).containsExactly(
                "portcullis.listeners[0].inspect.max-pendng: unknown key; did you mean 'max-pending'? (from the command line)");
        assertThat(errors("--portcullis.listeners[0].pools.api.backends[0]=127.0.0.1:10",
                "--portcullis.listeners[0].pools.api.balanse=least-connections",
                "--portcullis.listeners[0].pools.api.health-check.intervl=1s")).containsExactly(
                "portcullis.listeners[0].pools.api.balanse: unknown key; did you mean 'balance'? (from the command line)",
                "portcullis.listeners[0].pools.api.health-check.intervl: unknown key; did you mean 'interval'? "
                        + "(from the command line)");
        // A value is not a section: peek.tls.enabled would leave peek.tls false.
        assertThat(errors("--portcullis.listeners[0].peek.tls.enabled=true")).containsExactly(
                "portcullis.listeners[0].peek.tls.enabled: unknown key (from the command line)");
        // Named as misspelt, not as the required key it left missing.
        assertThat(errors("--portcullis.listeners[0].pools.api.backend[0]=127.0.0.1:10")).containsExactly(
                "portcullis.listeners[0].pools.api.backend: unknown key; did you mean 'backends'? (from the command line)");
        assertThat(errors("--portcullis.decision-services.authz.url=http://authz:8181/v1/decide",
                "--portcullis.decision-services.authz.timout=1s")).containsExactly(
                "portcullis.decision-services.authz.timout: unknown key; did you mean 'timeout'? (from the command line)");
    }

    @Test
    void aMisspeltKeyInsideAListenerInAFileIsNamedWithItsLine() throws Exception {
        Path app = listenerDbWith("""
                peek:
                  tls: true
                  on-not-tsl: continue
                """);
        assertThat(errorsWithFile(app)).containsExactly(
                app.toAbsolutePath() + ":8:21: portcullis.listeners[0].peek.on-not-tsl: unknown key; did you mean 'on-not-tls'?");
    }

    /** What Spring binds in its relaxed spellings (camelCase, snake_case, map keys with dots) is not unknown. */
    @Test
    void relaxedSpellingsAndMapKeysAreKnown() throws Exception {
        Path app = dir.resolve("application.yml");
        Files.writeString(app, """
                portcullis:
                  listeners:
                    - name: db
                      bind: 127.0.0.1:0
                      backends: [127.0.0.1:9]
                      conditionalAccept: false
                      peek:
                        tls: true
                        on_not_tls: continue
                        maxBytes: 4096
                      pools:
                        api:
                          backends: [127.0.0.1:10]
                          healthCheck:
                            enabled: false
                  decision-services:
                    authz:
                      url: http://authz:8181/v1/decide
                      headers:
                        "[x.trace.id]": abc
                        X-Api-Key: k
                """);
        ConfigurationCheck.Result result = ConfigurationCheck.bind(List.of(app));
        assertThat(result.errors()).isEmpty();
        PortcullisProperties.ListenerProperties listener = result.properties().orElseThrow().listeners().get(0);
        assertThat(listener.conditionalAccept()).isFalse();
        assertThat(listener.peek().maxBytes()).isEqualTo(4096);
        assertThat(listener.peek().onNotTls()).isEqualTo(io.portcullis.core.PeekSettings.OnNotTls.CONTINUE);
        assertThat(listener.pools().get("api").healthCheck().enabled()).isFalse();
        assertThat(result.properties().orElseThrow().decisionServices().get("authz").headers())
                .containsEntry("x.trace.id", "abc");
    }

    @Test
    void anUnknownSectionIsOneErrorWithTheKnownKeysWhenNoneIsNear() throws Exception {
        assertThat(errors("--portcullis.listners[0].name=x", "--portcullis.listners[0].bind=127.0.0.1:1",
                "--portcullis.listeners[0].terminate-tls.cert=x")).containsExactly(
                "portcullis.listeners[0].terminate-tls: unknown key (known here: name, bind, conditional-accept, backends, "
                        + "balance, connect-timeout, idle-timeout, inspect, health-check, proxy-protocol, peek, pools, early-reject, recheck-on-reload) (from the command line)",
                "portcullis.listners: unknown key; did you mean 'listeners'? (from the command line)");
    }

    @Test
    void aListItemAfterAGapIsNamed() throws Exception {
        assertThat(errors("--portcullis.listeners[0].backends[2]=127.0.0.1:10")).containsExactly(
                "portcullis.listeners[0].backends[2]: not used: list items must be numbered from [0] without gaps "
                        + "(from the command line)");
    }

    @Test
    void badAddressNamesTheKeyAndTheForm() throws Exception {
        assertThat(errors("--portcullis.listeners[0].backends[1]=nowhere")).containsExactly(
                "portcullis.listeners[0].backends[1]: found 'nowhere', which is not valid: expected host:port "
                        + "(IPv6 as [addr]:port), got 'nowhere' (from the command line)");
    }

    @Test
    void badDurationNamesTheKeyAndTheForm() throws Exception {
        assertThat(errors("--portcullis.listeners[0].inspect.timeout=soon")).containsExactly(
                "portcullis.listeners[0].inspect.timeout: found 'soon', expected a duration such as 300ms, 5s, 10m, 1h "
                        + "or 1d (from the command line)");
    }

    @Test
    void aDecisionServiceKeyIsNamedAsTheFileSpellsIt() throws Exception {
        assertThat(errors("--portcullis.decision-services.authz.url=http://authz:8181/v1/decide",
                "--portcullis.decision-services.authz.timeout=0s")).containsExactly(
                "portcullis.decision-services.authz.timeout: found '0s', which must be between 1ms and 60s (from the command line)");
        assertThat(errors("--portcullis.decision-services.authz.url=http://authz:8181/v1/decide",
                "--portcullis.decision-services.authz.on-failure=maybe")).containsExactly(
                "portcullis.decision-services.authz.on-failure: found 'maybe', expected accept, reject or stale (from the command line)");
    }

    @Test
    void decisionServiceCredentialsAreNeverShownInErrors() throws Exception {
        // A value the URI converter refuses: its message quotes the input, the password with it.
        List<String> badUrl = errors("--portcullis.decision-services.authz.url=http://gw:pw SECRET@authz:8181/x y");
        assertThat(badUrl).hasSize(1);
        assertThat(badUrl.get(0)).startsWith("portcullis.decision-services.authz.url: ").doesNotContain("SECRET");
        List<String> badHeader = errors("--portcullis.decision-services.authz.url=http://authz:8181/decide",
                "--portcullis.decision-services.authz.headers.X-Api-Key=${UNSET_SECRET_VARIABLE}");
        assertThat(badHeader).hasSize(1);
        assertThat(badHeader.get(0)).startsWith("portcullis.decision-services.authz.headers: must be header names")
                .doesNotContain("SECRET");
        List<String> both = errors("--portcullis.decision-services.authz.url=http://gw:pwSECRET@authz:8181/decide",
                "--portcullis.decision-services.authz.headers.Authorization=Bearer tokSECRET");
        assertThat(both).hasSize(1);
        assertThat(both.get(0)).contains("not both").doesNotContain("SECRET");
        List<String> notAName = errors("--portcullis.decision-services.authz.url=ftp://gw:pwSECRET@authz:8181/decide");
        assertThat(notAName).hasSize(1);
        assertThat(notAName.get(0)).contains("http:// or https://").doesNotContain("SECRET");
    }

    private static final String POOL_NAMES = "must be named with 1-63 lower-case letters, digits and '-', starting with a letter or digit (as a rule's route names them); 'default' is taken by the listener's own backends";

    @Test
    void badPoolsStopTheStart() throws Exception {
        assertThat(errors("--portcullis.listeners[0].pools.default.backends[0]=127.0.0.1:10")).containsExactly(
                "portcullis.listeners[0].pools: " + POOL_NAMES + " (from the command line)");
        assertThat(errors("--portcullis.listeners[0].pools[api_v2].backends[0]=127.0.0.1:10")).containsExactly(
                "portcullis.listeners[0].pools: " + POOL_NAMES + " (from the command line)");
        assertThat(errors("--portcullis.listeners[0].pools.api.balance=least-connections")).containsExactly(
                "portcullis.listeners[0].pools.api.backends: missing; this key is required (from the command line)");
    }

    @Test
    void badPoolNamesInAFileStopTheStart() throws Exception {
        Path app = listenerDbWith("""
                pools:
                  API:
                    backends: [127.0.0.1:10]
                  batch:
                    backends: []
                """);
        assertThat(errorsWithFile(app)).containsExactly(
                        app.toAbsolutePath() + ":8:22: portcullis.listeners[0].pools: " + POOL_NAMES,
                        app.toAbsolutePath() + ":10:21: portcullis.listeners[0].pools.batch.backends: found an empty value,"
                                + " which must name at least one backend");
    }

    @Test
    void aRuleRoutingToAPoolTheListenerLacksStopsTheStart() throws Exception {
        Path file = rules("listeners:\n  db:\n    rules:\n      - name: r\n        action: accept\n        route: api\n"
                + "    default: accept\n");
        assertThat(errors("--portcullis.rules=file:" + file, "--portcullis.listeners[0].pools.batch.backends[0]=127.0.0.1:10"))
                .containsExactly(file + ":4:9: rule 'r' of listener 'db' routes to pool 'api', which listener"
                + " 'db' does not have (its pools: default, batch); add it under portcullis.listeners[].pools or fix the name");
    }

    @Test
    void inspectingListenerNeedsRules() {
        assertThat(StartFailure.errors(startFailure())).containsExactly(
                "portcullis.rules: must be set when a listener has conditional-accept: true (from the command line)");
    }

    @Test
    void errorsInAFileAreOneLineEachWithTheAbsolutePathLineAndColumnInFileOrder() throws Exception {
        Path rules = rules(COVERING_RULES);
        Path app = Files.writeString(dir.resolve("application.yml"), """
                portcullis:
                  rules: file:%s
                  transport: dpdk
                  listeners:
                    - name: db
                      bind: 127.0.0.1:0
                      backends: [127.0.0.1:9]
                      connect-timeout: 0s
                      inspect:
                        max-pending: -1
                    - name: db
                      backends: []
                """.formatted(rules));
        Throwable t = StartFailure.of("--server.port=0", "--spring.config.additional-location=file:" + app);
        assertThat(StartFailure.errors(t)).containsExactly(
                app + ":3:14: portcullis.transport: found 'dpdk', which must be auto, io_uring, epoll or nio",
                app + ":5:13: portcullis.listeners: must have unique names",
                app + ":8:24: portcullis.listeners[0].connect-timeout: found '0s', which must be between 1ms and 5m",
                app + ":10:22: portcullis.listeners[0].inspect.max-pending: found '-1', which must be greater than or equal to 0",
                app + ":11:13: portcullis.listeners[1].bind: missing; this key is required",
                app + ":12:17: portcullis.listeners[1].backends: found an empty value, which must name at least one backend");
    }

    @Test
    void aBadValueInARelativelyNamedFileShowsItsAbsolutePath() throws Exception {
        Path relative = relativeDir();
        Path app = Files.writeString(relative.resolve("application.yml"), """
                portcullis:
                  listeners:
                    - name: db
                      bind: 127.0.0.1:0
                      backends: [127.0.0.1:9]
                      balance: fastest
                """);
        Throwable t = StartFailure.of("--server.port=0", "--spring.config.additional-location=file:./" + app);
        assertThat(StartFailure.errors(t)).containsExactly(app.toAbsolutePath() + ":6:16: portcullis.listeners[0].balance: "
                + "found 'fastest', expected round-robin, least-connections or source-hash");
    }

    @Test
    void malformedRulesFileStopsTheStartWithAbsolutePathLineAndColumn() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules:\n      - name: x\n        action: acept\n    default: reject\n");
        List<String> errors = errors("--portcullis.rules=file:" + rules);
        assertThat(errors).containsExactly(rules + ":5:17: unknown action 'acept' (expected accept, reject or pend)");
        assertThat(StartFailure.report(startFailure("--portcullis.rules=file:" + rules)))
                .contains("validate --config").doesNotContain("once that command exists");
    }

    @Test
    void aMissingRulesFileNamedRelativelyShowsTheAbsolutePathRead() throws Exception {
        Path missing = relativeDir().resolve("missing.yaml");
        for (String location : List.of("file:./" + missing, "file:" + missing, missing.toString())) {
            assertThat(errors("--portcullis.rules=" + location)).as(location).containsExactly(
                    missing.toAbsolutePath() + ":1:1: cannot read the policy file: no such file");
        }
    }

    @Test
    void aRelativeRulesFileIsReadFromTheWorkingDirectoryAndReportedAbsolute() throws Exception {
        Path rules = Files.writeString(relativeDir().resolve("rules.yaml"),
                "listeners:\n  db:\n    rules:\n      - name: x\n        sourc: [10.0.0.0/8]\n        action: accept\n"
                        + "    default: reject\n");
        assertThat(errors("--portcullis.rules=file:./" + rules)).containsExactly(
                rules.toAbsolutePath() + ":5:9: unknown key 'sourc' (did you mean 'source'?)");
    }

    @Test
    void rulesFileMustCoverInspectingListeners() throws Exception {
        Path rules = rules("listeners:\n  other:\n    rules: []\n    default: accept\n");
        assertThat(errors("--portcullis.rules=file:" + rules)).containsExactly(
                rules + ": no rules for listener(s) [db] which have conditional-accept: true (the file has: [other])");
    }

    @Test
    void anSniRuleOnAListenerThatDoesNotPeekStopsTheStart() throws Exception {
        Path rules = rules("""
                listeners:
                  db:
                    rules:
                      - name: by-name
                        sni: [db.example.com]
                        action: reject
                    default: accept
                """);
        assertThat(errors("--portcullis.rules=file:" + rules)).containsExactly(rules + ":4:9: rule 'by-name' of "
                + "listener 'db' matches on sni, but listener 'db' does not peek at TLS, so sni is never known there; "
                + "set peek.tls: true on the listener, or remove the rule or its condition");
    }

    @Test
    void occupiedBindAddressStopsTheStart() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Path rules = rules(COVERING_RULES);
            Throwable t = startFailure("--portcullis.rules=file:" + rules,
                    "--portcullis.listeners[0].bind=127.0.0.1:" + taken.getLocalPort());
            assertThat(StartFailure.messages(t)).contains("listener 'db': cannot bind");
        }
    }

    @Test
    void shortAdminTokenStopsTheStartWithoutShowingIt() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        String token = "only-15-chars-x";
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.admin.token=" + token);
        assertThat(StartFailure.report(t)).contains("portcullis.admin.token is too short: it must have at least 16 characters")
                .doesNotContain(token);
    }

    @Test
    void adminTokenFromAnUnsetVariableStopsTheStart() throws Exception {
        // The form the README once showed: without the ':' an unset variable is kept as the literal text.
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Files.writeString(dir.resolve("application.yml"), "portcullis:\n  admin:\n    token: ${PORTCULLIS_TEST_UNSET_VARIABLE}\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--spring.config.additional-location=file:" + dir + "/");
        assertThat(StartFailure.report(t)).contains("portcullis.admin.token still holds '${'")
                .contains("write ${PORTCULLIS_ADMIN_TOKEN:} (with the colon)");
    }

    @Test
    void redisUrlWithAnUnsetVariableStopsTheStartWithoutShowingIt() throws Exception {
        // Spring keeps a placeholder whose variable is unset as its text: the password would be "${...}".
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Files.writeString(dir.resolve("application.yml"), "portcullis:\n  cluster:\n    redis:\n"
                + "      url: redis://:${PORTCULLIS_TEST_UNSET_VARIABLE}@127.0.0.1:6379\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--spring.config.additional-location=file:" + dir + "/");
        assertThat(StartFailure.report(t)).contains("application.yml:4:12: portcullis.cluster.redis.url")
                .contains("still holds '${': the variable of a placeholder is unset")
                .doesNotContain("PORTCULLIS_TEST_UNSET_VARIABLE").doesNotContain("must be a redis://");
    }

    @Test
    void redisUrlThatIsNoRedisAddressStopsTheStartWithoutShowingIt() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        Throwable t = startFailure("--portcullis.rules=file:" + rules,
                "--portcullis.cluster.redis.url=http://user:hunter2-secret@127.0.0.1:6379");
        assertThat(StartFailure.report(t)).contains("portcullis.cluster.redis.url")
                .contains("must be a redis://, rediss:// or redis-sentinel:// address").doesNotContain("hunter2-secret");
    }

    @Test
    void adminTokenThatNoHeaderCanCarryStopsTheStart() throws Exception {
        Path rules = rules("listeners:\n  db:\n    rules: []\n    default: accept\n");
        String token = "a token with spaces in it";
        Throwable t = startFailure("--portcullis.rules=file:" + rules, "--portcullis.admin.token=" + token);
        assertThat(StartFailure.report(t)).contains("portcullis.admin.token must be visible ASCII characters only")
                .doesNotContain(token);
    }

    /** A fresh directory named relative to the working directory (no "..": the test runs in the module). */
    private static Path relativeDir() throws Exception {
        Path relative = Path.of("target", "relative-" + UUID.randomUUID());
        Files.createDirectories(relative);
        return relative;
    }
}
