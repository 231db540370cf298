package io.portcullis.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scenario 7: policy reloads under a steady arrival of new connections. Valid and broken rules files alternate;
 * each change is either an edit (the file replaced in place) or a Kubernetes ConfigMap-style swap (a new
 * {@code ..TIMESTAMP} directory, the {@code ..data} symlink renamed over, the old directory deleted), and is
 * picked up either by the file watch or by {@code POST /admin/rules/reload}.
 *
 * <p>Each valid version N accepts every client source, split over two rules that only agree together: the sources
 * of one parity through a list file, the others inline, both routed to the pool of N's parity (two backends that
 * answer 'E' or 'O'). Rules of one version with the list of the version before reject half the sources, so a
 * reject is a policy that no single version explains (half-applied); a pool of the wrong parity, outside the
 * moments when two versions could both be in force, is a reload lost or late. Every valid version must be in
 * force after its step ({@code GET /admin/rules} names its rules), every broken one refused with the running
 * policy kept, and the reload meters must count each exactly once. Then as many swaps back to back, raced by
 * {@code POST}s: a reload that reads the rules of one directory and the list of the next would be half-applied;
 * the last swap must be in force by the watch, none refused.
 */
final class ReloadUnderLoad implements Scenario {

    private static final String LISTENER = "reload";
    private static final int SOURCES = 40;
    private static final int FIRST_SOURCE = 10;
    private static final int CHECK_MILLIS = 250;
    /** Swaps in the storm, per reload of the profile. */
    private static final int STORM = 5;
    private static final String SUCCESS = "portcullis_policy_reloads_total{result=\"success\"";
    private static final String FAILURE = "portcullis_policy_reloads_total{result=\"failure\"";

    /** How one connection ended. */
    enum Outcome { EVEN, ODD, REJECTED, EOF, TIMEOUT, CONNECT_FAILED }

    private record Conn(long start, long end, Outcome outcome) {
    }

    /** A valid version: when its change began, and when its rules were seen in force. */
    private record Version(int n, long written, long confirmed) {
    }

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public String name() {
        return "7 reload under load";
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        long started = System.nanoTime();
        List<String> problems = new ArrayList<>();
        String token = "reload-token-" + Long.toHexString(System.nanoTime()) + "x";
        Path dir = env.work().resolve("reload-policy").toAbsolutePath();
        deleteTree(dir);
        Files.createDirectories(dir);
        Policies files = new Policies(dir);
        files.swap(rules(0, "./acc.txt"), list(0), 0);
        Files.createSymbolicLink(dir.resolve("rules.yaml"), Path.of("..data/rules.yaml"));
        Files.createSymbolicLink(dir.resolve("acc.txt"), Path.of("..data/acc.txt"));
        try (Tagger even = new Tagger('E'); Tagger odd = new Tagger('O')) {
            Gateway.Listener l = new Gateway.Listener(LISTENER, Env.port(), List.of(even.port()), "30s",
                    List.of("inspect.timeout=5s", "pools.odd.backends[0]=127.0.0.1:" + odd.port(),
                            "pools.odd.health-check.enabled=false"));
            try (Gateway gw = Gateway.start(env, "reload", List.of(l), List.of(), List.of(
                    "--portcullis.rules=file:" + dir.resolve("rules.yaml"),
                    "--portcullis.rules-check-interval=" + CHECK_MILLIS + "ms",
                    "--portcullis.admin.token=" + token))) {
                double success0 = gw.metric(SUCCESS);
                double failure0 = gw.metric(FAILURE);
                Load load = new Load(l.port(), p.reloadRate());
                List<Version> versions = new ArrayList<>();
                versions.add(new Version(0, Long.MIN_VALUE, System.nanoTime()));
                int valid = 0;
                int broken = 0;
                int edits = 0;
                int swaps = 0;
                int posts = 0;
                int current = 0;
                int stormSwaps = 0;
                long stormFailures = 0;
                long stormMillis = 0;
                String stormPosts = "-";
                double stepSuccess = 0;
                double stepFailure = 0;
                try {
                    Thread.sleep(1000); // load running before the first change
                    for (int step = 1; step <= p.reloads(); step++) {
                        boolean good = step % 2 == 1;
                        int k = good ? valid : broken;
                        boolean swap = k % 2 == 1;
                        boolean post = (k / 2) % 2 == 1;
                        edits += swap ? 0 : 1;
                        swaps += swap ? 1 : 0;
                        posts += post ? 1 : 0;
                        double before = gw.metric(SUCCESS) + gw.metric(FAILURE);
                        long written = System.nanoTime();
                        int n = good ? current + 1 : current;
                        String list = swap ? "./acc.txt" : "./acc-" + step + ".txt";
                        String text = good ? rules(n, list) : broken(step, broken % 3);
                        if (swap) {
                            files.swap(text, list(n), step);
                        } else {
                            files.edit(text, good ? list(n) : null, step);
                        }
                        String how = (good ? "valid v" + n : "broken #" + step) + (swap ? " (swap" : " (edit")
                                + (post ? ", POST)" : ", watch)");
                        if (post) {
                            int status = post(gw, token);
                            if (status != (good ? 200 : 422)) {
                                problems.add(how + ": POST /admin/rules/reload answered " + status);
                            }
                        } else if (!Await.until(() -> gw.metric(SUCCESS) + gw.metric(FAILURE) > before, 20, 20)) {
                            problems.add(how + ": not reloaded within 20 s");
                        }
                        if (good) {
                            valid++;
                            current = n;
                        } else {
                            broken++;
                        }
                        // Valid or not, the version in force must now be the newest valid one.
                        int want = current;
                        if (!Await.until(() -> gw.get("/admin/rules", token).contains("\"listed-v" + want + "\""), 10, 20)) {
                            problems.add(how + ": v" + want + " not in force afterwards");
                        }
                        if (good) {
                            versions.add(new Version(n, written, System.nanoTime()));
                        }
                    }
                    Thread.sleep(2 * CHECK_MILLIS + 500); // a late second count of one change would come now
                    stepSuccess = gw.metric(SUCCESS);
                    stepFailure = gw.metric(FAILURE);
                    // Swaps back to back while POSTs race them: a reload that reads the rules of one directory
                    // and the list of the next puts a policy in force that no version is.
                    double stormFailures0 = gw.metric(FAILURE);
                    long stormStart = System.nanoTime();
                    Poster poster = new Poster(gw, token);
                    for (int i = 0; i < STORM * p.reloads(); i++) {
                        int n = ++current;
                        long written = System.nanoTime();
                        files.swap(rules(n, "./acc.txt"), list(n), p.reloads() + 1 + i);
                        versions.add(new Version(n, written, Long.MAX_VALUE)); // confirmed below, for all
                        stormSwaps++;
                        Thread.sleep(5 + i % 20);
                    }
                    poster.stop();
                    stormPosts = poster.ok + "/" + poster.sent;
                    int last = current;
                    if (!Await.until(() -> gw.get("/admin/rules", token).contains("\"listed-v" + last + "\""), 10, 20)) {
                        problems.add("storm: the last swap (v" + last + ") not in force 10 s later");
                    }
                    long confirmed = System.nanoTime();
                    for (int i = 0; i < versions.size(); i++) {
                        Version v = versions.get(i);
                        if (v.confirmed() == Long.MAX_VALUE) {
                            versions.set(i, new Version(v.n(), v.written(), confirmed));
                        }
                    }
                    stormFailures = Math.round(gw.metric(FAILURE) - stormFailures0);
                    if (stormFailures != 0 || poster.ok != poster.sent) {
                        problems.add("storm: " + stormFailures + " reloads refused, POST " + poster.ok + "/"
                                + poster.sent + " answered 200 (every file swapped in was valid)");
                    }
                    stormMillis = TimeUnit.NANOSECONDS.toMillis(confirmed - stormStart);
                    Thread.sleep(1000); // load running after the last change
                } finally {
                    load.stop();
                }
                long successes = Math.round(stepSuccess - success0);
                long failures = Math.round(stepFailure - failure0);
                if (successes != valid) {
                    problems.add("reloads counted success " + successes + ", expected " + valid);
                }
                if (failures != broken) {
                    problems.add("reloads counted failure " + failures + ", expected " + broken);
                }
                long refusedLogged = count(gw.log(), "Policy reload refused");
                // Every connection: accepted, by the pool of a version that could have been in force meanwhile.
                Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
                int wrongPool = 0;
                for (Conn c : load.done) {
                    outcomes.merge(c.outcome(), 1, Integer::sum);
                    if ((c.outcome() == Outcome.EVEN || c.outcome() == Outcome.ODD)
                            && !explained(c, versions, c.outcome() == Outcome.EVEN ? 0 : 1)) {
                        wrongPool++;
                    }
                }
                int total = load.done.size();
                int rejected = outcomes.getOrDefault(Outcome.REJECTED, 0);
                int failed = total - outcomes.getOrDefault(Outcome.EVEN, 0) - outcomes.getOrDefault(Outcome.ODD, 0)
                        - rejected;
                if (rejected > 0) {
                    problems.add(rejected + " connections rejected: a policy no single version explains");
                }
                if (failed > 0) {
                    problems.add(failed + " connections neither accepted nor rejected");
                }
                if (wrongPool > 0) {
                    problems.add(wrongPool + " connections routed by a version not in force then (a reload lost or late)");
                }
                double seconds = (load.stoppedAt - load.startedAt) / 1e9;
                String outcome = total + " connections " + outcomes + ", wrong pool " + wrongPool + "; reloads counted "
                        + successes + " success / " + failures + " failure (expected " + valid + " / " + broken
                        + "), refusals logged " + refusedLogged + "; storm of " + stormSwaps + " swaps in " + stormMillis
                        + " ms under POST " + stormPosts + ": refused " + stormFailures + "; v" + current
                        + " in force at the end"
                        + (problems.isEmpty() ? "" : "; " + String.join("; ", problems.subList(0, Math.min(8, problems.size()))));
                return new Result(name(), String.format("%d new conns/s asked, %.0f/s made, from %d sources, %.0f s",
                        p.reloadRate(), total / seconds, SOURCES, seconds),
                        p.reloads() + " reloads: " + valid + " valid, " + broken + " broken (YAML error, unknown key, "
                                + "missing action); " + edits + " edits, " + swaps + " ..data symlink swaps; " + posts
                                + " by POST, " + (p.reloads() - posts) + " by the file watch; then " + stormSwaps
                                + " swaps back to back raced by POSTs",
                        problems.isEmpty(), outcome, 0, gw.statusKiB("VmHWM"),
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    /** Whether a version of parity {@code parity} could have been in force at some moment of the connection. */
    private static boolean explained(Conn c, List<Version> versions, int parity) {
        for (int i = 0; i < versions.size(); i++) {
            Version v = versions.get(i);
            long from = v.written();
            long until = i + 1 < versions.size() ? versions.get(i + 1).confirmed() : Long.MAX_VALUE;
            if (v.n() % 2 == parity && from <= c.end() && c.start() <= until) {
                return true;
            }
        }
        return false;
    }

    /** The source at index i (0..SOURCES-1). */
    private static String source(int i) {
        return "127.0.0." + (FIRST_SOURCE + i);
    }

    /** Version n's list file: the sources of n's parity. */
    private static String list(int n) {
        StringBuilder b = new StringBuilder("# v" + n + "\n");
        for (int i = n % 2; i < SOURCES; i += 2) {
            b.append(source(i)).append('\n');
        }
        return b.toString();
    }

    /** Version n's rules: the list's sources by one rule, all the others by a second, both to n's pool. */
    private static String rules(int n, String listFile) {
        StringBuilder inline = new StringBuilder();
        for (int i = 1 - n % 2; i < SOURCES; i += 2) {
            inline.append(inline.length() == 0 ? "" : ", ").append(source(i)).append("/32");
        }
        String route = n % 2 == 0 ? "default" : "odd";
        return "lists:\n  acc: { file: " + listFile + " }\n"
                + "listeners:\n  " + LISTENER + ":\n    rules:\n"
                + "      - name: listed-v" + n + "\n        source: [list:acc]\n        action: accept\n"
                + "        route: " + route + "\n"
                + "      - name: inline-v" + n + "\n        source: [" + inline + "]\n        action: accept\n"
                + "        route: " + route + "\n"
                + "    default: reject\n";
    }

    /** A rules file that must be refused: a YAML error, an unknown key, a rule without an action. */
    private static String broken(int step, int kind) {
        String head = "listeners:\n  " + LISTENER + ":\n    rules:\n      - name: broken-" + step + "\n";
        switch (kind) {
            case 0:
                return head + "        source: [127.0.0.10/32\n        action: accept\n    default: reject\n";
            case 1:
                return head + "        sourc: [127.0.0.10/32]\n        action: accept\n    default: reject\n";
            default:
                return head + "        source: [127.0.0.10/32]\n    default: reject\n";
        }
    }

    private int post(Gateway gw, String token) throws InterruptedException {
        try {
            HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.httpPort() + "/admin/rules/reload"))
                    .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(20))
                    .POST(HttpRequest.BodyPublishers.noBody()).build();
            return http.send(r, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        }
    }

    private static long count(Path log, String text) {
        try (java.util.stream.Stream<String> lines = Files.lines(log)) {
            return lines.filter(x -> x.contains(text)).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }


    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
            for (Path x : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }

    /**
     * The policy directory as Kubernetes lays out a ConfigMap volume: {@code ..TIMESTAMP/} holds the files,
     * {@code ..data} links to it, {@code rules.yaml} and {@code acc.txt} link through {@code ..data}.
     */
    private static final class Policies {

        private final Path dir;
        private Path live;

        Policies(Path dir) {
            this.dir = dir;
        }

        /** A new directory, {@code ..data} renamed over to point at it, the old one deleted (as kubelet does). */
        void swap(String rules, String list, int step) throws IOException {
            Path next = dir.resolve(String.format("..2026_12_05_08_00_%02d.%09d", step % 60, step));
            Files.createDirectory(next);
            Files.writeString(next.resolve("rules.yaml"), rules);
            Files.writeString(next.resolve("acc.txt"), list);
            Path link = dir.resolve("..data_tmp");
            Files.createSymbolicLink(link, next.getFileName());
            Files.move(link, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
            if (live != null) {
                deleteTree(live);
            }
            live = next;
        }

        /** The list (when given) as a new file beside the links, then the rules replaced in place by a rename. */
        void edit(String rules, String list, int step) throws IOException {
            if (list != null) {
                replace(dir.resolve("acc-" + step + ".txt"), list);
            }
            replace(live.resolve("rules.yaml"), rules);
        }

        private static void replace(Path file, String text) throws IOException {
            Path tmp = file.resolveSibling(".tmp-" + file.getFileName());
            Files.writeString(tmp, text);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** New connections at a steady rate, each from the next source: one byte read, or a reset. */
    private static final class Load {

        final ConcurrentLinkedQueue<Conn> done = new ConcurrentLinkedQueue<>();
        final long startedAt = System.nanoTime();
        volatile long stoppedAt;
        private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "load-tick"));
        private final ExecutorService workers = Executors.newFixedThreadPool(64, r -> daemon(r, "load"));
        private final AtomicLong next = new AtomicLong();
        private final int port;

        Load(int port, int perSecond) {
            this.port = port;
            int perTick = Math.max(1, perSecond / 100);
            ticker.scheduleAtFixedRate(() -> {
                for (int i = 0; i < perTick; i++) {
                    workers.execute(this::one);
                }
            }, 0, 10, TimeUnit.MILLISECONDS);
        }

        private static Thread daemon(Runnable r, String name) {
            Thread t = new Thread(null, r, name, 256 * 1024);
            t.setDaemon(true);
            return t;
        }

        private void one() {
            int source = FIRST_SOURCE + (int) (next.getAndIncrement() % SOURCES);
            long start = System.nanoTime();
            Outcome o;
            try (Socket s = Net.connect(source, port)) {
                s.setSoTimeout(10_000);
                InputStream in = s.getInputStream();
                int b = in.read();
                o = b == 'E' ? Outcome.EVEN : b == 'O' ? Outcome.ODD : Outcome.EOF;
            } catch (SocketTimeoutException e) {
                o = Outcome.TIMEOUT;
            } catch (SocketException e) {
                o = e.getMessage() != null && e.getMessage().contains("reset") ? Outcome.REJECTED : Outcome.CONNECT_FAILED;
            } catch (IOException e) {
                o = Outcome.CONNECT_FAILED;
            }
            done.add(new Conn(start, System.nanoTime(), o));
        }

        void stop() throws InterruptedException {
            ticker.shutdownNow();
            ticker.awaitTermination(5, TimeUnit.SECONDS);
            workers.shutdown();
            workers.awaitTermination(30, TimeUnit.SECONDS);
            stoppedAt = System.nanoTime();
        }
    }

    /** POSTs reloads back to back until stopped, on a thread of its own. */
    private final class Poster {

        volatile int sent;
        volatile int ok;
        private volatile boolean stopped;
        private final Thread thread;

        Poster(Gateway gw, String token) {
            thread = new Thread(() -> {
                while (!stopped) {
                    try {
                        int status = post(gw, token);
                        ok += status == 200 ? 1 : 0;
                        sent++;
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "poster");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            stopped = true;
            thread.join(30_000);
        }
    }

    /** A backend that answers every connection with one byte, its tag, and closes. */
    private static final class Tagger implements AutoCloseable {

        private final ServerSocket server;

        Tagger(char tag) throws IOException {
            server = new ServerSocket(Env.port(), 1000, Net.LOOPBACK);
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        s.getOutputStream().write(tag);
                    } catch (IOException e) {
                        // closed, or the client gone
                    }
                }
            }, "tagger-" + tag);
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
