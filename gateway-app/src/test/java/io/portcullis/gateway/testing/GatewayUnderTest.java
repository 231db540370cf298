package io.portcullis.gateway.testing;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.core.EventLoops;
import io.portcullis.core.Listener;
import io.portcullis.core.demo.EchoServer;
import io.portcullis.gateway.Gateway;
import io.portcullis.gateway.PortcullisApplication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The whole application on loopback, started as an operator starts it (properties on the command line), with
 * what its tests need around it: an echo backend on an event loop of its own, the rules written to a file,
 * listeners on ephemeral ports of 127.0.0.1 (and {@code server.port=0}), and the beans, meters and ports of the
 * running context.
 *
 * <pre>{@code
 * try (GatewayUnderTest gateway = new GatewayUnderTest()
 *         .rules("""
 *                 listeners:
 *                   svc:
 *                     rules:
 *                       - { name: wait, source: [127.0.0.3], action: pend }
 *                     default: accept
 *                 """)
 *         .addListener("svc", "inspect.timeout=1m", "inspect.on-timeout=accept")
 *         .properties("portcullis.shutdown-grace=3s")
 *         .start()) {
 *     TestClient client = TestClient.connect(loopback(3), gateway.listener("svc").localAddress());
 *     ...
 * }
 * }</pre>
 *
 * <p>Set it up, {@link #start} it once, then read it; all from the test's thread, except {@link #stop} (any
 * thread). {@link #close} closes the context first, then the backend and its event loop, then the rules file.
 * Start failures are {@link StartFailure}'s.
 */
public final class GatewayUnderTest implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final List<String> properties = new ArrayList<>(List.of("server.port=0"));
    /** Indexes of the listeners that name no backend: they get {@link #backend}, or the echo backend. */
    private final List<Integer> defaultBackend = new ArrayList<>();
    private int listeners;
    private String backend;
    private String rules;
    private Path rulesDir;
    private EventLoops echoLoops;
    private EchoServer echo;
    private ConfigurableApplicationContext context;

    // ---- set-up

    /** The embedded demo (no listener configured): its listener and its echo server on ephemeral ports. */
    public GatewayUnderTest demo() {
        return properties("portcullis.demo.bind=127.0.0.1:0", "portcullis.demo.echo-bind=127.0.0.1:0");
    }

    /** The policy: {@code yaml} is written to {@code rules.yaml} in a directory of its own at the start. */
    public GatewayUnderTest rules(String yaml) {
        this.rules = yaml;
        return this;
    }

    /** Properties as given on the command line, {@code key=value} without the leading {@code --}. */
    public GatewayUnderTest properties(String... keyValues) {
        properties.addAll(List.of(keyValues));
        return this;
    }

    /** {@code host:port}: the backend of the listeners that name none, in place of the echo backend. */
    public GatewayUnderTest backend(String hostPort) {
        this.backend = hostPort;
        return this;
    }

    /**
     * The next listener, {@code portcullis.listeners[i]}: named {@code name}, bound to 127.0.0.1:0, with
     * {@code keys} under it ({@code inspect.timeout=1m}); unless they name {@code backends[..]}, its backend is
     * the echo backend (or the one {@link #backend} gave).
     */
    public GatewayUnderTest addListener(String name, String... keys) {
        String prefix = "portcullis.listeners[" + listeners + "].";
        properties(prefix + "name=" + name, prefix + "bind=127.0.0.1:0");
        for (String key : keys) {
            properties.add(prefix + key);
        }
        if (Stream.of(keys).noneMatch(k -> k.startsWith("backends["))) {
            defaultBackend.add(listeners);
        }
        listeners++;
        return this;
    }

    /** {@code host:port} of the echo backend, started on first use (also before {@link #start}). */
    public String echoBackend() {
        if (echo == null) {
            echoLoops = EventLoops.create(1);
            echo = new EchoServer(echoLoops, new InetSocketAddress("127.0.0.1", 0)).start();
        }
        return "127.0.0.1:" + echo.localAddress().getPort();
    }

    /** Starts the application; when it fails, closes what the set-up opened, then throws. */
    public GatewayUnderTest start() throws IOException {
        if (context != null) {
            throw new IllegalStateException("started already");
        }
        try {
            List<String> args = new ArrayList<>(properties);
            if (rules != null) {
                rulesDir = Files.createTempDirectory("portcullis-test-rules");
                args.add("portcullis.rules=file:" + Files.writeString(rulesDir.resolve("rules.yaml"), rules));
            }
            for (int i : defaultBackend) {
                args.add("portcullis.listeners[" + i + "].backends[0]=" + (backend != null ? backend : echoBackend()));
            }
            context = new SpringApplicationBuilder(PortcullisApplication.class)
                    .run(args.stream().map(a -> "--" + a).toArray(String[]::new));
            return this;
        } catch (Throwable t) {
            try {
                close();
            } catch (RuntimeException e) {
                t.addSuppressed(e);
            }
            throw t;
        }
    }

    // ---- the running application

    public ConfigurableApplicationContext context() {
        if (context == null) {
            throw new IllegalStateException("not started");
        }
        return context;
    }

    public <T> T bean(Class<T> type) {
        return context().getBean(type);
    }

    /** The running listener named {@code name}; fails the test when there is none. */
    public Listener listener(String name) {
        return bean(Gateway.class).listener(name)
                .orElseThrow(() -> new AssertionError("no listener named '" + name + "'"));
    }

    /** The rules file written at the start; rewrite it to change the policy. */
    public Path rulesFile() {
        if (rulesDir == null) {
            throw new IllegalStateException("no rules written");
        }
        return rulesDir.resolve("rules.yaml");
    }

    public MeterRegistry meters() {
        return bean(MeterRegistry.class);
    }

    /** {@code server.port}: the admin API's, and health's and metrics' unless {@code management.server.port} is set. */
    public int serverPort() {
        return Integer.parseInt(context().getEnvironment().getRequiredProperty("local.server.port"));
    }

    /** Where health and metrics are served. */
    public int managementPort() {
        String apart = context().getEnvironment().getProperty("local.management.port");
        return apart != null ? Integer.parseInt(apart) : serverPort();
    }

    /** {@code path} on the management port of 127.0.0.1. */
    public URI url(String path) {
        return URI.create("http://127.0.0.1:" + managementPort() + path);
    }

    /** {@code GET path} on the management port, without credentials: connected within 5 s, answered within 10 s. */
    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(url(path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    // ---- the end

    /** Stops the application as SIGTERM does (its context closes, draining); any thread; the backend stays up. */
    public void stop() {
        if (context != null) {
            context.close();
        }
    }

    /** The context, then the echo backend and its event loop, then the rules file. Repeated calls are harmless. */
    @Override
    public void close() {
        // try-with-resources closes last first, each even when one before it failed.
        try (Cleanup rulesFile = this::deleteRules; EventLoops loops = echoLoops; EchoServer backend = echo) {
            stop();
        }
    }

    /** A step of {@link #close}: AutoCloseable without the checked exception. */
    private interface Cleanup extends AutoCloseable {
        @Override
        void close();
    }

    private void deleteRules() {
        if (rulesDir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(rulesDir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        rulesDir = null;
    }
}
