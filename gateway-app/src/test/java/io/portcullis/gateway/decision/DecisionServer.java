package io.portcullis.gateway.decision;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A real HTTP decision service for tests, on the JDK's {@link HttpServer} on 127.0.0.1: {@code /decide}
 * (type http) and {@code /opa} (type opa). What it answers is scripted per client address (the request's
 * {@code source.ip}); it counts and keeps the requests it sees. Every wait has a deadline.
 */
final class DecisionServer implements AutoCloseable {

    static {
        // Without it the JDK's server writes headers and body in two segments under Nagle's algorithm, and each
        // answer waits for the client's delayed ACK (some 40 ms).
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** The longest a held answer waits for {@link Hold#release()}. */
    private static final Duration HOLD_LIMIT = Duration.ofSeconds(10);

    /** What to answer one request. */
    interface Behaviour {
        Answer answer(int call) throws InterruptedException;
    }

    record Answer(int status, String body) {
    }

    /** An answer held back until released (or {@link #HOLD_LIMIT}); tells when a request has arrived. */
    static final class Hold implements Behaviour {
        final CountDownLatch seen = new CountDownLatch(1);
        final CountDownLatch released = new CountDownLatch(1);
        final Answer answer;
        volatile boolean delivered;
        volatile boolean writeFailed;

        Hold(Answer answer) {
            this.answer = answer;
        }

        @Override
        public Answer answer(int call) throws InterruptedException {
            seen.countDown();
            released.await(HOLD_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
            return answer;
        }

        boolean awaitSeen(Duration deadline) throws InterruptedException {
            return seen.await(deadline.toMillis(), TimeUnit.MILLISECONDS);
        }

        void release() {
            released.countDown();
        }
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-decision-server");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Behaviour> byIp = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    final List<Hold> holds = new CopyOnWriteArrayList<>();
    /** The request headers of the latest request for each client address. */
    final Map<String, com.sun.net.httpserver.Headers> headersByIp = new ConcurrentHashMap<>();
    private volatile Behaviour fallback = call -> new Answer(200, "{\"action\":\"accept\"}");

    private DecisionServer(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        server.setExecutor(executor);
        server.createContext("/decide", exchange -> handle(exchange, false));
        server.createContext("/opa", exchange -> handle(exchange, true));
        server.start();
    }

    /** On an ephemeral port. */
    static DecisionServer start() throws IOException {
        return new DecisionServer(0);
    }

    /** On {@code port}, e.g. one that was dead until now. */
    static DecisionServer start(int port) throws IOException {
        return new DecisionServer(port);
    }

    int port() {
        return server.getAddress().getPort();
    }

    String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    DecisionServer on(String ip, Behaviour behaviour) {
        byIp.put(ip, behaviour);
        return this;
    }

    DecisionServer otherwise(Behaviour behaviour) {
        fallback = behaviour;
        return this;
    }

    Hold hold(String ip, Answer answer) {
        Hold hold = new Hold(answer);
        holds.add(hold);
        on(ip, hold);
        return hold;
    }

    static Behaviour always(int status, String body) {
        return call -> new Answer(status, body);
    }

    static Behaviour ok(String body) {
        return always(200, body);
    }

    int calls(String ip) {
        AtomicInteger n = calls.get(ip);
        return n == null ? 0 : n.get();
    }

    int totalCalls() {
        return total.get();
    }

    private void handle(HttpExchange exchange, boolean opa) throws IOException {
        try (exchange) {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            JsonNode request = JSON.readTree(body);
            requests.add(request);
            JsonNode object = opa ? request.get("input") : request;
            String ip = object == null ? "?" : object.get("source").get("ip").asString();
            headersByIp.put(ip, exchange.getRequestHeaders());
            int call = calls.computeIfAbsent(ip, k -> new AtomicInteger()).incrementAndGet();
            total.incrementAndGet();
            Answer answer;
            try {
                answer = byIp.getOrDefault(ip, fallback).answer(call);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            byte[] out = answer.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            try {
                exchange.sendResponseHeaders(answer.status(), out.length == 0 ? -1 : out.length);
                if (out.length > 0) {
                    try (OutputStream os = exchange.getResponseBody()) {
                        os.write(out);
                    }
                }
                holds.stream().filter(h -> h.answer == answer).forEach(h -> h.delivered = true);
            } catch (IOException e) {
                // The gateway hung up (a cancelled call): the late answer goes nowhere.
                holds.stream().filter(h -> h.answer == answer).forEach(h -> h.writeFailed = true);
            }
        }
    }

    @Override
    public void close() {
        holds.forEach(Hold::release);
        server.stop(0);
        executor.shutdownNow();
    }
}
