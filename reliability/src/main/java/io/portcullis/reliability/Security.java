package io.portcullis.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Scenario 9: security probes on the whole process. Every spelling of an admin path, with every method, is 401
 * without the token and with a wrong one, and 404 on a gateway with no token; the right token reads the pended
 * list. Only health and prometheus are exposed under {@code /actuator}. A PROXY header from a peer that is
 * not trusted is reset and counted; a trusted balancer's names the client the rules see. No secret (the admin
 * token, a wrong token, the decision service's password) appears in the log or in any HTTP answer, after good and
 * bad tokens, a refused reload and a failing decision service.
 */
final class Security implements Scenario {

    /** As gateway-app's tests spell them ({@code AdminPathSpellings}): what a check on the raw path misses. */
    static final List<String> READS = List.of(
            "/admin", "/admin/", "/admin/pending", "/admin/rules", "/admin/listeners",
            "/%61dmin/pending", "/%61%64%6D%69%6E/listeners", "/%41dmin/pending", "/adm%69n/rules",
            "/admin%2Fpending", "/admin%2fpending", "/%2Fadmin/pending", "/%2561dmin/pending", "/admin%252Fpending",
            "/admin;x/pending", "/admin;/listeners", "/admin/pending;x", "/admin;a=b/rules;c=d", "/;/admin/pending",
            "//admin/pending", "/admin//pending", "///admin/listeners",
            "/./admin/pending", "/admin/./pending", "/admin/../admin/pending", "/x/../admin/pending",
            "/%2e/admin/pending", "/admin/%2e%2e/admin/pending", "/admin/pending/.", "/admin/pending/",
            "/ADMIN/pending", "/Admin/Pending", "/admin/PENDING",
            "/admin/pending?x=1", "/%61dmin/pending?token=x", "/admin/pending#frag", "/%61dmin/listeners#x",
            "/actuator/health/../../admin/pending", "/actuator/../admin/pending",
            "/actuator/health%2F..%2F..%2Fadmin/pending", "/actuator/%2e%2e/admin/pending",
            "/admin/rules/reload", "/%61dmin/rules/reload", "/admin/rules/reload;x",
            "/admin/pending/1", "/%61dmin/pending/1", "/admin/%70ending/1", "/admin/pending/%31",
            "/admin;x/pending/1", "/admin/pending;x/1", "/admin/pending/1;x", "//admin/pending/1",
            "/admin//pending/1", "/admin/pending/1/", "/./admin/pending/1", "/admin/../admin/pending/1",
            "/ADMIN/pending/1", "/%2561dmin/pending/1", "/admin%2Fpending%2F1", "/admin/pending/1?x=1");

    /** HEAD and OPTIONS too: a router may answer them for a route without calling its handler. */
    static final List<String> METHODS = List.of("GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH");

    /** Actuator endpoints that must not be exposed, token or not. */
    static final List<String> HIDDEN = List.of("/actuator", "/actuator/", "/actuator/env", "/actuator/configprops",
            "/actuator/beans", "/actuator/heapdump", "/actuator/threaddump", "/actuator/loggers", "/actuator/mappings",
            "/actuator/env/portcullis.admin.token", "/actuator/%65nv", "/actuator/env;x", "/actuator/health/../env", "/actuator/info");

    private static final int UNTRUSTED_TRIES = 5;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public String name() {
        return "9 security";
    }

    @Override
    public Result run(Env env) throws Exception {
        long started = System.nanoTime();
        SecureRandom rnd = new SecureRandom();
        String token = "tokSECRET" + hex(rnd);
        String wrong = "tokWRONG" + hex(rnd);
        String password = "pwSECRET" + hex(rnd);
        String apiKey = "keySECRET" + hex(rnd);
        List<String> problems = new ArrayList<>();
        StringBuilder answers = new StringBuilder(); // every HTTP answer, searched for the secrets at the end
        int tried = 0;
        int denied = 0;
        int notFound = 0;
        int resets = 0;
        double counted;
        long rss;
        try (Echo echo = new Echo()) {
            Path rules = env.work().resolve("security-rules.yaml");
            Files.writeString(rules, RULES);
            int pp = Env.port();
            int ask = Env.port();
            List<String> args = new ArrayList<>(List.of(
                    "--portcullis.admin.token=" + token,
                    "--portcullis.rules=file:" + rules.toAbsolutePath(),
                    "--portcullis.rules-check-interval=1m",
                    "--portcullis.decision-services.authz.type=http",
                    "--portcullis.decision-services.authz.url=http://portcullis:" + password + "@127.0.0.1:" + Env.port()
                            + "/decide",
                    "--portcullis.decision-services.authz.headers.X-Api-Key=" + apiKey,
                    "--portcullis.decision-services.authz.timeout=300ms",
                    "--portcullis.decision-services.authz.on-failure=reject"));
            List<Gateway.Listener> listeners = List.of(
                    new Gateway.Listener("ask", ask, List.of(echo.port()), "30s", List.of("inspect.timeout=5s")),
                    new Gateway.Listener("pp", pp, List.of(echo.port()), "30s",
                            List.of("proxy-protocol.accept=optional", "proxy-protocol.trusted[0]=127.0.0.9")));
            try (Gateway gw = Gateway.start(env, "security", listeners, List.of(), args)) {
                for (String auth : new String[] {null, "Bearer " + wrong, "Basic " + token, "bearer" + token}) {
                    for (String method : METHODS) {
                        for (String path : READS) {
                            tried++;
                            int status = send(gw, method, path, auth, answers);
                            if (status == 401) {
                                denied++;
                            } else {
                                problems.add(method + " " + path + (auth == null ? "" : " (bad token)") + ": " + status
                                        + ", expected 401");
                            }
                        }
                    }
                }
                expect(problems, "GET /admin/pending with the token", 200,
                        send(gw, "GET", "/admin/pending", "Bearer " + token, answers));
                expect(problems, "GET /admin/rules with the token", 200,
                        send(gw, "GET", "/admin/rules", "Bearer " + token, answers));
                expect(problems, "GET /admin/listeners with the token", 200,
                        send(gw, "GET", "/admin/listeners", "Bearer " + token, answers));
                for (String path : HIDDEN) {
                    for (String auth : new String[] {null, "Bearer " + token}) {
                        int status = send(gw, "GET", path, auth, answers);
                        if (status != 404 && status != 401 && status != 400) {
                            problems.add("GET " + path + (auth == null ? "" : " (token)") + ": " + status
                                    + ", expected 404, 401 or 400");
                        }
                    }
                }
                // PROXY headers: from an untrusted peer a reset; from the balancer the named client is the source.
                for (int i = 0; i < UNTRUSTED_TRIES; i++) {
                    if (proxied(3, pp, "192.0.2.7") == Net.End.RESET) {
                        resets++;
                    }
                }
                if (resets != UNTRUSTED_TRIES) {
                    problems.add((UNTRUSTED_TRIES - resets) + " untrusted PROXY headers not reset");
                }
                counted = sum(gw, "portcullis_peek_rejects_total", "reason=\"untrusted_header\"", UNTRUSTED_TRIES);
                if (counted != UNTRUSTED_TRIES) {
                    problems.add("untrusted_header counted " + counted + ", expected " + UNTRUSTED_TRIES);
                }
                if (proxied(9, pp, "192.0.2.7") != Net.End.EOF) {
                    problems.add("a trusted balancer's header naming 192.0.2.7 was not accepted");
                }
                if (proxied(9, pp, null) != Net.End.RESET) {
                    problems.add("the balancer without a header (rule default reject) was not reset");
                }
                // A decision service that is not there (its URL holds the password): on-failure reject.
                if (proxied(4, ask, null) != Net.End.RESET) {
                    problems.add("a pend whose decision failed was not reset");
                }
                if (sum(gw, "portcullis_decision_requests_total", "outcome=\"failure\"", 1) < 1) {
                    problems.add("no failed decision counted");
                }
                // A refused reload, then the good file back.
                Files.writeString(rules, "listeners:\n  ask:\n    rules:\n      - name: x\n        acton: accept\n"
                        + "    default: reject\n");
                expect(problems, "a bad reload", 422, send(gw, "POST", "/admin/rules/reload", "Bearer " + token, answers));
                expect(problems, "a reload with a wrong token", 401,
                        send(gw, "POST", "/admin/rules/reload", "Bearer " + wrong, answers));
                Files.writeString(rules, RULES);
                expect(problems, "a good reload", 200, send(gw, "POST", "/admin/rules/reload", "Bearer " + token, answers));
                for (String path : List.of("/actuator/health", "/actuator/health/readiness", "/actuator/prometheus")) {
                    send(gw, "GET", path, null, answers);
                }
                rss = gw.statusKiB("VmHWM");
            }
            // The log is complete once the process has ended.
            String log = Files.readString(env.work().resolve("gateway-security.log"), StandardCharsets.UTF_8);
            int leaks = 0;
            for (String secret : List.of(token, wrong, password, apiKey)) {
                int inLog = occurrences(log, secret);
                int inAnswers = occurrences(answers.toString(), secret);
                leaks += inLog + inAnswers;
                if (inLog + inAnswers > 0) {
                    problems.add("a secret (" + secret.substring(0, 8) + "...) found " + inLog + " times in the log, "
                            + inAnswers + " in HTTP answers");
                }
            }
            // No token: the admin API does not exist.
            int plain = Env.port();
            int triedOff = 0;
            try (Gateway off = Gateway.start(env, "security-no-token",
                    List.of(new Gateway.Listener("plain", plain, List.of(echo.port()), "30s")))) {
                for (String method : METHODS) {
                    for (String path : READS) {
                        triedOff++;
                        int status = send(off, method, path, "Bearer " + token, answers);
                        if (status == 404) {
                            notFound++;
                        } else {
                            problems.add("no token set: " + method + " " + path + ": " + status + ", expected 404");
                        }
                    }
                }
                for (String path : HIDDEN) {
                    int status = send(off, "GET", path, null, answers);
                    if (status != 404 && status != 401 && status != 400) {
                        problems.add("no token set: GET " + path + ": " + status + ", expected 404, 401 or 400");
                    }
                }
            }
            String outcome = READS.size() + " admin spellings x " + METHODS.size() + " methods: " + denied + "/" + tried
                    + " 401 (no, wrong or malformed token), " + notFound + "/" + triedOff + " 404 with no token set, "
                    + "token 200; " + HIDDEN.size() + " hidden actuator paths never 200; untrusted PROXY headers "
                    + resets + "/" + UNTRUSTED_TRIES + " reset, counted " + (long) counted
                    + ", trusted header honoured; secret occurrences " + leaks + " (log, " + answers.length()
                    + " chars of answers)" + (problems.isEmpty() ? "" : "; " + summary(problems));
            return new Result(name(), tried + triedOff + " admin requests, " + (UNTRUSTED_TRIES + 3) + " connections",
                    "bad tokens, untrusted PROXY headers, a dead decision service, a bad reload", problems.isEmpty(),
                    outcome, 0, rss, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
        }
    }

    private static final String RULES = """
            listeners:
              pp:
                rules:
                  - name: named-client
                    source: [192.0.2.7]
                    action: accept
                default: reject
              ask:
                rules:
                  - name: ask-authz
                    source: [127.0.0.4]
                    action: pend
                    decision: authz
                    timeout: 2s
                default: reject
            """;

    /** The sum of a counter's samples with {@code tag}, waited for (2 s at most) until it reaches {@code expected}. */
    private static double sum(Gateway gw, String meter, String tag, int expected) throws Exception {
        Await.until(() -> gw.sum(meter, tag) >= expected, 2);
        return gw.sum(meter, tag);
    }

    /**
     * From 127.0.0.{@code from}: a PROXY v1 header naming {@code client} (none when null), a line, then reads to
     * the end. EOF means relayed: the echo backend answers and closes.
     */
    private static Net.End proxied(int from, int port, String client) throws IOException {
        try (Socket s = Net.connect(from, port)) {
            s.setSoTimeout(10_000);
            String header = client == null ? "" : "PROXY TCP4 " + client + " 127.0.0.1 40000 " + port + "\r\n";
            try {
                s.getOutputStream().write((header + "hello\n").getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                return Net.End.RESET;
            }
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64];
            int n = 0;
            try {
                for (int r; (r = in.read(buf, n, buf.length - n)) > 0; ) {
                    n += r;
                }
            } catch (java.net.SocketTimeoutException e) {
                return Net.End.TIMEOUT;
            } catch (IOException e) {
                return Net.End.RESET;
            }
            return "hello\n".equals(new String(buf, 0, n, StandardCharsets.US_ASCII)) ? Net.End.EOF : Net.End.TIMEOUT;
        }
    }

    private int send(Gateway gw, String method, String path, String authorization, StringBuilder answers)
            throws InterruptedException {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.httpPort() + path))
                    .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody());
            if (authorization != null) {
                b.header("Authorization", authorization);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            answers.append(r.headers().map()).append(r.body()).append('\n');
            return r.statusCode();
        } catch (IOException e) {
            return -1;
        }
    }

    private static void expect(List<String> problems, String what, int expected, int status) {
        if (status != expected) {
            problems.add(what + ": " + status + ", expected " + expected);
        }
    }

    private static int occurrences(String text, String secret) {
        int n = 0;
        for (int i = text.indexOf(secret); i >= 0; i = text.indexOf(secret, i + 1)) {
            n++;
        }
        return n;
    }

    private static String summary(List<String> problems) {
        return problems.size() <= 5 ? String.join("; ", problems)
                : String.join("; ", problems.subList(0, 5)) + "; and " + (problems.size() - 5) + " more";
    }

    private static String hex(SecureRandom rnd) {
        byte[] b = new byte[12];
        rnd.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** A backend that echoes one line and closes. */
    private static final class Echo implements AutoCloseable {

        private final ServerSocket server;

        Echo() throws IOException {
            server = new ServerSocket(Env.port(), 50, Net.LOOPBACK);
            Thread t = new Thread(this::loop, "echo-line");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void loop() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(5000);
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    for (int c; (c = in.read()) >= 0; ) {
                        out.write(c);
                        if (c == '\n') {
                            break;
                        }
                    }
                } catch (IOException e) {
                    // the next
                }
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
