package io.portcullis.reliability;

import io.portcullis.reliability.FakeDecisionService.Mode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scenario 2: a decision service that is down, hangs, answers after 2 s, answers garbage, answers 500, closes
 * mid-answer and flaps between well and 500 every second. Two listeners pend every connection on it through two
 * services: {@code strict} (well: accept; on-failure reject; the deadline would accept) and {@code lenient}
 * (well: reject; on-failure accept; the deadline would reject), so each outcome shows who decided. In each
 * phase every client must end by the rule's deadline plus slack as {@code on-failure} says, each circuit breaker
 * must open and, once the service is well again, go half-open and close; the pending gauges return to 0, each
 * ended pend is counted once (meter and audit line) and never as a timeout, each client ended as its audit line
 * says and was decided by whom its phase says, and the failure log stays one line per burst (per service and
 * 10 s window) with no other line but circuit transitions.
 */
final class DecisionFaults implements Scenario {

    private static final String STRICT = "strict";
    private static final String LENIENT = "lenient";
    private static final List<String> SERVICES = List.of(STRICT, LENIENT);
    /** The rule's timeout, the deadline every client is held to (with {@link #SLACK_MILLIS}). */
    private static final long DEADLINE_MILLIS = 3000;
    /** The machine is shared: lateness is judged generously, speed never. */
    private static final long SLACK_MILLIS = 1500;
    /** A client that sees no end within this is hung. */
    private static final int HUNG_MILLIS = 15_000;
    /** One attempt; shorter than the slow service's {@link FakeDecisionService#SLOW_MILLIS}. */
    private static final String SERVICE_TIMEOUT = "1500ms";
    private static final long RECOVERY_SECONDS = 20;
    private static final int MESSAGE = 64;
    /** Problems listed in the result at most. */
    private static final int SHOWN = 12;
    /** The source object of an audit line (its fields in any order), and one string or number field. */
    private static final Pattern SOURCE = Pattern.compile("\"source\":\\{([^}]*)}");
    private static final Pattern FIELD = Pattern.compile("\"([a-zA-Z]+)\":(\"(?:[^\"\\\\]|\\\\.)*\"|[0-9]+|null)");

    /** Who must decide the clients of a burst, as their audit lines say. */
    private enum Decider {
        /** The service's answer (strict: accept, lenient: reject); one later than the timeout is tolerated. */
        SERVICE,
        /** {@code on-failure} (strict: reject, lenient: accept). */
        ON_FAILURE,
        /** Either: the service flaps, or its circuit is on the way back. */
        EITHER
    }

    /**
     * How one client ended: relayed (its bytes echoed), refused (reset or closed before any byte), or neither;
     * {@code key} finds its audit line (listener, source address and port).
     */
    private record End(String key, boolean relayed, long millis, long lost, boolean hung) {
    }

    @Override
    public String name() {
        return "2 decision faults";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        long started = System.nanoTime();
        Figures f = new Figures();
        Path rules = env.work().resolve("decision-faults-rules.yaml");
        Files.writeString(rules, "listeners:\n" + section(STRICT) + section(LENIENT));
        try (Echo echo = new Echo(Env.port()); FakeDecisionService svc = new FakeDecisionService(Env.port())) {
            Gateway.Listener strict = listener(STRICT, echo.port(), "accept");
            Gateway.Listener lenient = listener(LENIENT, echo.port(), "reject");
            List<String> args = new ArrayList<>(List.of("--portcullis.rules=file:" + rules));
            args.addAll(service(STRICT, svc.url("/decide/accept"), "reject"));
            args.addAll(service(LENIENT, svc.url("/decide/reject"), "accept"));
            try (Gateway gw = Gateway.start(env, "decision-faults", List.of(strict, lenient), List.of(), args)) {
                Ports ports = new Ports(strict.port(), lenient.port());
                int n = p.decisionClients();
                // Well first: the services' own answers decide.
                f.add("ok", burst(ports, n, Decider.SERVICE, 500, p.sources()));
                recover(gw, ports, "ok", p.sources(), f); // a first call slowed past the timeout may open a circuit
                for (Mode fault : List.of(Mode.DOWN, Mode.HANG, Mode.SLOW, Mode.GARBAGE, Mode.ERROR_500,
                        Mode.CLOSE_MID, Mode.FLAP)) {
                    phase(gw, svc, fault, ports, n, p.sources(), f);
                }
                checkCounts(gw, f);
                checkAudit(gw, f);
                long rss = gw.statusKiB("VmHWM");
                String outcome = f.clients + " clients ended: " + f.relayed + " relayed, " + f.refused
                        + " reset; latest end " + f.slowest + " ms (deadline " + DEADLINE_MILLIS + " ms + "
                        + SLACK_MILLIS + " slack), longest pend in the audit " + f.longestPend
                        + " ms; circuits opened " + f.opened + ", closed again " + f.closed + "; decisions failed "
                        + f.failedDecisions + " (circuit open " + f.circuitOpen + "), pended outcomes timeout "
                        + f.timeouts + "; failure log " + f.failureLines + " lines (at most " + f.failureLinesAllowed
                        + " allowed); pending gauges 0 after each phase: " + (f.gaugeStuck == 0)
                        + "; answers past the timeout while well (load) " + f.lateAnswers
                        + (f.problems.isEmpty() ? "" : "; " + String.join("; ", f.problems));
                return new Result(name(), "2 listeners x " + n + " pended clients x 8 phases from " + p.sources()
                        + " sources, rule timeout " + DEADLINE_MILLIS / 1000 + "s",
                        "decision service down, hang, 2 s slow, garbage, 500, close mid-answer, flapping 1 s ("
                                + svc.faulted.get() + " requests answered badly)",
                        f.problems.isEmpty(), outcome, f.lost, rss,
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    private record Ports(int strict, int lenient) {
    }

    private static String section(String name) {
        return "  " + name + ":\n    rules:\n      - name: ask-" + name + "\n        action: pend\n        decision: "
                + name + "\n        timeout: " + DEADLINE_MILLIS + "ms\n    default: reject\n";
    }

    /** The deadline, were it reached, would decide the opposite of {@code on-failure}: a wrong end shows. */
    private static Gateway.Listener listener(String name, int backend, String onTimeout) {
        return new Gateway.Listener(name, Env.port(), List.of(backend), "1m",
                List.of("inspect.timeout=30s", "inspect.on-timeout=" + onTimeout, "inspect.max-pending=10000"));
    }

    /** A service without a cache (every pend calls), a small count-based circuit breaker and 1 s in open state. */
    static List<String> service(String name, String url, String onFailure) {
        String d = "--portcullis.decision-services." + name + ".";
        String cb = "--resilience4j.circuitbreaker.instances." + name + ".";
        return List.of(d + "type=http", d + "url=" + url, d + "timeout=" + SERVICE_TIMEOUT,
                d + "on-failure=" + onFailure, d + "max-connections=64",
                cb + "sliding-window-type=COUNT_BASED", cb + "sliding-window-size=10",
                cb + "minimum-number-of-calls=5", cb + "failure-rate-threshold=50",
                cb + "wait-duration-in-open-state=1s", cb + "permitted-number-of-calls-in-half-open-state=2",
                cb + "automatic-transition-from-open-to-half-open-enabled=true");
    }

    /** One fault: a burst of clients, then the service well again until both circuits are closed. */
    private static void phase(Gateway gw, FakeDecisionService svc, Mode fault, Ports ports, int n, int sources,
                              Figures f) throws Exception {
        String label = fault.label();
        int logFrom = lines(gw).size();
        long phaseStart = System.nanoTime();
        svc.mode(fault);
        Decider decider = fault == Mode.FLAP ? Decider.EITHER : Decider.ON_FAILURE;
        // Spread over a second (two and a half when flapping, to see both halves): the failure is sustained.
        f.add(label, burst(ports, n, decider, fault == Mode.FLAP ? 2500 : 1000, sources));
        gaugesZero(gw, label, f);
        List<String> sofar = lines(gw);
        List<String> during = sofar.subList(logFrom, sofar.size());
        for (String s : SERVICES) {
            boolean opened = during.stream().anyMatch(x -> x.contains("Decision service '" + s
                    + "': circuit breaker State transition from CLOSED to OPEN"));
            if (opened) {
                f.opened++;
            } else if (fault != Mode.FLAP) {
                f.problem(label + ": circuit of '" + s + "' did not open");
            }
        }
        svc.mode(Mode.OK);
        recover(gw, ports, label, sources, f);
        gaugesZero(gw, label + " recovery", f);
        List<String> all = lines(gw);
        List<String> phaseLines = all.subList(logFrom, all.size());
        long phaseMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - phaseStart);
        for (String s : SERVICES) {
            long failureLines = phaseLines.stream()
                    .filter(x -> x.contains("Decision service '" + s + "' failed:")).count();
            // FailureLog writes at most one line per 10 s window per service.
            long allowed = 1 + phaseMillis / 10_000;
            f.failureLines += failureLines;
            f.failureLinesAllowed += allowed;
            if (failureLines > allowed) {
                f.problem(label + ": " + failureLines + " failure lines for '" + s + "' in " + phaseMillis
                        + " ms (one per burst expected)");
            }
            boolean reopened = phaseLines.stream().anyMatch(x -> x.contains("Decision service '" + s
                    + "': circuit breaker State transition from CLOSED to OPEN"));
            boolean closed = phaseLines.stream().anyMatch(x -> x.contains("Decision service '" + s
                    + "': circuit breaker State transition from HALF_OPEN to CLOSED"));
            if (closed) {
                f.closed++;
            } else if (reopened) {
                f.problem(label + ": circuit of '" + s + "' opened and never went half-open to closed");
            }
        }
        // Per transition, not per request: at most one open -> half-open a second (wait-duration-in-open-state 1s).
        long transitions = phaseLines.stream().filter(x -> x.contains("': circuit breaker State transition")).count();
        long transitionsAllowed = SERVICES.size() * (4 + 2 * phaseMillis / 1000);
        if (transitions > transitionsAllowed) {
            f.problem(label + ": " + transitions + " circuit transition lines in " + phaseMillis + " ms");
        }
        // Anything else the gateway logs in a phase is a line per connection or a fault of its own.
        List<String> other = phaseLines.stream().filter(x -> !x.contains(" io.portcullis.audit ")
                && !x.contains("': circuit breaker State transition") && !x.contains("' failed: ")).toList();
        if (!other.isEmpty()) {
            f.problem(label + ": " + other.size() + " other log lines, e.g. " + other.get(0));
        }
    }

    /**
     * Well again: one client per listener every 300 ms until both circuits read closed; then one of each must
     * get the service's own answer.
     */
    private static void recover(Gateway gw, Ports ports, String label, int sources, Figures f) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RECOVERY_SECONDS);
        while (!(closed(gw, STRICT) && closed(gw, LENIENT))) {
            if (System.nanoTime() > deadline) {
                f.problem(label + ": circuits not closed " + RECOVERY_SECONDS + " s after the service recovered ("
                        + STRICT + " " + state(gw, STRICT) + ", " + LENIENT + " " + state(gw, LENIENT) + ")");
                return;
            }
            f.add(label + " recovery", burst(ports, 1, Decider.EITHER, 0, sources));
            Thread.sleep(300);
        }
        f.add(label + " recovered", burst(ports, 1, Decider.SERVICE, 0, sources));
    }

    private static boolean closed(Gateway gw, String service) {
        return gw.metric("resilience4j_circuitbreaker_state{name=\"" + service + "\",state=\"closed\"}") == 1;
    }

    private static String state(Gateway gw, String service) {
        for (String s : List.of("closed", "open", "half_open", "forced_open", "disabled", "metrics_only")) {
            if (gw.metric("resilience4j_circuitbreaker_state{name=\"" + service + "\",state=\"" + s + "\"}") == 1) {
                return s;
            }
        }
        return "unknown";
    }

    private static void gaugesZero(Gateway gw, String label, Figures f) throws InterruptedException {
        for (String s : SERVICES) {
            String gauge = "portcullis_pending_inspections{listener=\"" + s + "\"}";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (gw.metric(gauge) != 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            double left = gw.metric(gauge);
            if (left != 0) {
                f.gaugeStuck++;
                f.problem(label + ": pending gauge of '" + s + "' at " + (long) left
                        + " 5 s after its clients ended");
            }
        }
    }

    /** Every pend counted once (outcomes sum to the clients), none ended by the deadline; the failure figures. */
    private static void checkCounts(Gateway gw, Figures f) throws InterruptedException {
        Thread.sleep(500);
        String scrape = gw.get("/actuator/prometheus");
        for (String s : SERVICES) {
            String outcomes = "portcullis_pended_outcomes_total{listener=\"" + s + "\"";
            long sum = (long) sum(scrape, outcomes);
            long timeouts = (long) sum(scrape, outcomes + ",outcome=\"timeout\"}");
            f.timeouts += timeouts;
            long made = f.perListener.get(s);
            if (sum != made) {
                f.problem("'" + s + "': " + sum + " pended outcomes counted for " + made + " clients");
            }
            if (timeouts != 0) {
                f.problem("'" + s + "': " + timeouts + " pends ended by the deadline, not by on-failure");
            }
            String decisions = "portcullis_decision_requests_total{outcome=\"";
            f.failedDecisions += (long) sum(scrape, decisions + "failure\",service=\"" + s + "\"}");
            long open = (long) sum(scrape, decisions + "circuit_open\",service=\"" + s + "\"}");
            f.circuitOpen += open;
            f.failedDecisions += open;
        }
    }

    /**
     * One audit line per ended pend, none ended by the deadline or as an abort; each client ended as its line
     * says (relayed if and only if accepted) and was decided by whom its phase says; the longest pend.
     */
    private static void checkAudit(Gateway gw, Figures f) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<String> audit;
        do {
            Thread.sleep(100);
            audit = lines(gw).stream().filter(x -> x.contains(" io.portcullis.audit ")).toList();
        } while (audit.size() < f.clients && System.nanoTime() < deadline);
        if (audit.size() != f.clients) {
            f.problem(audit.size() + " audit lines for " + f.clients + " clients");
        }
        Map<String, Map<String, String>> byClient = new java.util.HashMap<>();
        java.util.Set<String> twice = new java.util.HashSet<>();
        for (String line : audit) {
            Map<String, String> a = fields(line);
            Matcher src = SOURCE.matcher(line);
            if (!src.find() || !a.containsKey("pendMillis") || !a.containsKey("decidedBy")) {
                f.problem("an audit line not understood: " + line);
                continue;
            }
            Map<String, String> source = fields(src.group(1));
            String key = key(a.get("listener"), source.get("ip"), Integer.parseInt(source.get("port")));
            if (byClient.put(key, a) != null) {
                twice.add(key);
            }
            String outcome = a.get("outcome");
            if (!outcome.equals("accept") && !outcome.equals("reject") && !outcome.equals("failure")) {
                f.problem("a pend ended by " + outcome + ", not by the service or on-failure: " + line);
            }
            f.longestPend = Math.max(f.longestPend, Long.parseLong(a.get("pendMillis")));
        }
        int wrong = 0;
        String example = "";
        for (Ended e : f.ended) {
            Map<String, String> m = byClient.get(e.end().key());
            if (twice.contains(e.end().key()) || e.end().hung()) {
                continue; // an address and port used twice (rare), or already a problem
            }
            if (m == null) {
                f.problem(e.label() + ": no audit line for " + e.end().key());
                continue;
            }
            String by = m.get("decidedBy");
            boolean accepted = m.get("action").equals("accept");
            boolean strict = e.end().key().startsWith(STRICT + " ");
            String why = null;
            if (accepted != e.end().relayed()) {
                why = (e.end().relayed() ? "relayed" : "reset") + " but decided " + m.get("action");
            } else if (e.decider() == Decider.ON_FAILURE && !by.equals("failure")) {
                why = "decided by " + by + " while the service failed";
            } else if (e.decider() == Decider.SERVICE && !by.equals("service")) {
                if (by.equals("failure") && m.get("reason").contains("no answer within")) {
                    f.lateAnswers++;
                } else {
                    why = "decided by " + by + " (" + m.get("reason") + ") while the service was well";
                }
            } else if (e.decider() == Decider.SERVICE && accepted != strict) {
                why = "the service's answer was not carried out";
            }
            if (e.decider() == Decider.SERVICE && e.label().equals("ok") && by.equals("service")) {
                f.answeredInOk.merge(strict ? STRICT : LENIENT, 1L, Long::sum);
            }
            if (why != null) {
                wrong++;
                example = e.label() + ": " + e.end().key() + " " + why;
            }
        }
        if (wrong > 0) {
            f.problem(wrong + " clients ended otherwise than their audit line or phase says, e.g. " + example);
        }
        for (String s : SERVICES) {
            if (f.answeredInOk.get(s) == 0) {
                f.problem("'" + s + "': no client decided by the service's answer while it was well");
            }
        }
    }

    /** The top-level string, number and null fields of a JSON line (the first of each name), strings unquoted. */
    private static Map<String, String> fields(String json) {
        Map<String, String> out = new java.util.HashMap<>();
        Matcher m = FIELD.matcher(json);
        while (m.find()) {
            String v = m.group(2);
            out.putIfAbsent(m.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
        }
        return out;
    }

    private static double sum(String scrape, String prefix) {
        double total = 0;
        for (String line : scrape.split("\n")) {
            if (line.startsWith(prefix)) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return total;
    }

    private static List<String> lines(Gateway gw) throws IOException {
        return Files.readAllLines(gw.log());
    }

    /** {@code n} clients on each listener, started over {@code spreadMillis}; all have ended when it returns. */
    private static Burst burst(Ports ports, int n, Decider decider, long spreadMillis, int sources)
            throws InterruptedException {
        End[] ends = new End[2 * n];
        Exception[] failures = new Exception[2 * n];
        Thread[] threads = new Thread[2 * n];
        long t0 = System.nanoTime();
        for (int i = 0; i < 2 * n; i++) {
            int k = i;
            int port = i % 2 == 0 ? ports.strict() : ports.lenient();
            String listener = i % 2 == 0 ? STRICT : LENIENT;
            long startAt = t0 + TimeUnit.MILLISECONDS.toNanos(spreadMillis * (i / 2) / Math.max(1, n));
            threads[i] = new Thread(null, () -> {
                try {
                    long wait = startAt - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    ends[k] = client(listener, 2 + (k / 2) % sources, port, k);
                } catch (Exception e) {
                    failures[k] = e;
                }
            }, "decision-client-" + i, 256 * 1024);
            threads[i].setDaemon(true);
            threads[i].start();
        }
        for (Thread t : threads) {
            t.join(HUNG_MILLIS + 10_000L + spreadMillis);
        }
        return new Burst(ends, failures, decider);
    }

    private record Burst(End[] ends, Exception[] failures, Decider decider) {
    }

    /** Connects, sends a message and waits for its echo (accepted) or the end (reset). */
    private static End client(String listener, int source, int port, int k) throws IOException {
        byte[] msg = Arrays.copyOf(("decision-faults client " + k + " ").getBytes(StandardCharsets.US_ASCII), MESSAGE);
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(Net.loopback(source), 0));
            String key = key(listener, "127.0.0." + source, s.getLocalPort());
            long before = System.nanoTime();
            try {
                s.connect(new InetSocketAddress(Net.LOOPBACK, port), 5000);
            } catch (SocketException e) {
                // Accepted, pended and reset before this thread saw the handshake end: a refusal on a busy machine.
                if (String.valueOf(e.getMessage()).contains("reset")) {
                    return new End(key, false, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before), 0, false);
                }
                throw e;
            }
            // The deadline runs from the gateway's accept, which follows the handshake: measured from its end.
            long t0 = System.nanoTime();
            s.setSoTimeout(HUNG_MILLIS);
            try {
                s.getOutputStream().write(msg);
            } catch (SocketException e) {
                return new End(key, false, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), 0, false);
            }
            InputStream in = s.getInputStream();
            byte[] got = new byte[MESSAGE];
            int have = 0;
            boolean hung = false;
            try {
                int r;
                while (have < MESSAGE && (r = in.read(got, have, MESSAGE - have)) >= 0) {
                    have += r;
                }
            } catch (SocketTimeoutException e) {
                hung = true;
            } catch (SocketException e) {
                // reset: refused, or cut after part of the echo (counted as lost)
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            boolean relayed = have == MESSAGE && Arrays.equals(got, msg);
            // Nothing back is a refusal; part of the echo, or other bytes, is loss.
            long lost = have == 0 || relayed ? 0 : have < MESSAGE ? MESSAGE - have : MESSAGE;
            return new End(key, relayed, ms, lost, hung);
        }
    }

    private record Ended(String label, Decider decider, End end) {
    }

    private static String key(String listener, String ip, int port) {
        return listener + " " + ip + ":" + port;
    }

    /** The run's figures and problems. */
    private static final class Figures {
        final List<String> problems = new ArrayList<>();
        final Map<String, Long> perListener = new java.util.HashMap<>(Map.of(STRICT, 0L, LENIENT, 0L));
        long clients;
        long relayed;
        long refused;
        long slowest;
        long lost;
        int opened;
        int closed;
        long failedDecisions;
        long circuitOpen;
        long timeouts;
        long longestPend;
        long failureLines;
        long failureLinesAllowed;
        int gaugeStuck;
        /** Answers later than the service's timeout where the service should have decided: load, reported. */
        long lateAnswers;
        final Map<String, Long> answeredInOk = new java.util.HashMap<>(Map.of(STRICT, 0L, LENIENT, 0L));
        final List<Ended> ended = new ArrayList<>();

        /** Keeps the first {@link #SHOWN} problems and counts the rest, so one fault does not drown the others. */
        void problem(String what) {
            if (problems.size() < SHOWN) {
                problems.add(what);
            } else if (problems.size() == SHOWN) {
                problems.add("more problems, not shown");
            }
        }

        void add(String label, Burst b) {
            int wrong = 0;
            int late = 0;
            int hung = 0;
            for (int i = 0; i < b.ends().length; i++) {
                String listener = i % 2 == 0 ? STRICT : LENIENT;
                if (b.failures()[i] != null) {
                    problem(label + ": a client of '" + listener + "' failed: " + b.failures()[i]);
                    continue;
                }
                End e = b.ends()[i];
                if (e == null) {
                    problem(label + ": a client of '" + listener + "' never returned");
                    continue;
                }
                clients++;
                perListener.merge(listener, 1L, Long::sum);
                slowest = Math.max(slowest, e.millis());
                lost += e.lost();
                if (e.hung()) {
                    hung++;
                } else if (e.relayed()) {
                    relayed++;
                } else {
                    refused++;
                }
                if (e.millis() > DEADLINE_MILLIS + SLACK_MILLIS) {
                    late++;
                }
                // on-failure: strict rejects, lenient accepts (the audit check below says who decided the rest)
                if (!e.hung() && b.decider() == Decider.ON_FAILURE && e.relayed() != listener.equals(LENIENT)) {
                    wrong++;
                }
                ended.add(new Ended(label, b.decider(), e));
            }
            if (hung > 0) {
                problem(label + ": " + hung + " clients saw no end within " + HUNG_MILLIS + " ms");
            }
            if (late > 0) {
                problem(label + ": " + late + " clients ended after the deadline + slack");
            }
            if (wrong > 0) {
                problem(label + ": " + wrong + " clients ended otherwise than on-failure says");
            }
        }
    }

    /** An echo backend on 127.0.0.1, a thread per connection. */
    private static final class Echo implements AutoCloseable {
        private final ServerSocket server;

        Echo(int port) throws IOException {
            server = new ServerSocket(port, 500, Net.LOOPBACK);
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread c = new Thread(null, () -> echo(s), "echo", 128 * 1024);
                        c.setDaemon(true);
                        c.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "echo-" + port);
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private static void echo(Socket s) {
            try (s) {
                s.setSoTimeout(60_000);
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                byte[] buf = new byte[4096];
                int r;
                while ((r = in.read(buf)) >= 0) {
                    out.write(buf, 0, r);
                }
            } catch (IOException e) {
                // the client's end: it counts
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
