package io.portcullis.reliability;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * Scenario 5: slow and hostile clients, the profile's count of each kind at once. On a listener that requires a
 * PROXY header and on one that peeks the TLS ClientHello (both {@code peek.timeout} {@value #PEEK_TIMEOUT_S}s):
 * a header or a ClientHello at 1 byte per second (slowloris), an oversized header (v1 past its 107 bytes, v2 past
 * {@code max-bytes}), an oversized ClientHello: each reset at its bound and counted once by reason. A valid
 * header and a valid ClientHello in 1-byte segments: relayed byte-exact. On a plain listener, a client that
 * never reads while its backend writes as fast as it can: backpressure holds what the gateway buffers, and the
 * idle timeout ends it.
 */
final class HostileClients implements Scenario {

    private static final int PEEK_TIMEOUT_S = 2;
    private static final int PP_MAX_BYTES = 1024;
    private static final int TLS_MAX_BYTES = 4096;
    private static final int IDLE_TIMEOUT_S = 5;
    /** Never-reading clients: each one's backend pushes until the gateway stops reading it. */
    private static final int NON_READERS = 4;
    /** What a non-reader's backend may have written, at most: socket buffers on both sides and the relay's own. */
    private static final long NON_READER_BOUND = 32L << 20;
    /** A slow client should be reset at the peek timeout; this much later is still in time on a busy machine. */
    private static final long SLOW_LATEST_MS = (PEEK_TIMEOUT_S + 6) * 1000L;
    /** The gateway's RSS may grow this much with every hostile client on: bounded buffers, not a copy per byte. */
    private static final long RSS_GROWTH_KIB = 64L << 10;
    private static final String PP = "pp";
    private static final String TLS = "tls";
    private static final String SINK = "sink";

    @Override
    public String name() {
        return "5 slow and hostile clients";
    }

    /** One kind of client: what it sends, how, and how it must end. */
    private record Kind(String name, String listener, String reason, boolean slow) {
    }

    @Override
    public Result run(Env env) throws Exception {
        Profile p = env.profile();
        int n = p.hostile();
        long started = System.nanoTime();
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        Path rules = env.work().resolve("hostile-rules.yaml");
        Files.writeString(rules, "listeners:\n"
                + "  " + PP + ":\n    rules:\n      - name: all\n        source: [0.0.0.0/0]\n        action: accept\n"
                + "    default: reject\n"
                + "  " + TLS + ":\n    rules:\n      - name: all\n        source: [0.0.0.0/0]\n        action: accept\n"
                + "    default: reject\n");
        byte[] hello = clientHello("db.example.com");
        try (Recorder recorder = new Recorder(); Firehose firehose = new Firehose()) {
            Gateway.Listener pp = new Gateway.Listener(PP, Env.port(), List.of(recorder.port()), "30s",
                    List.of("proxy-protocol.accept=required", "proxy-protocol.trusted[0]=127.0.0.0/8",
                            "peek.timeout=" + PEEK_TIMEOUT_S + "s", "peek.max-bytes=" + PP_MAX_BYTES));
            Gateway.Listener tls = new Gateway.Listener(TLS, Env.port(), List.of(recorder.port()), "30s",
                    List.of("peek.tls=true", "peek.timeout=" + PEEK_TIMEOUT_S + "s",
                            "peek.max-bytes=" + TLS_MAX_BYTES));
            Gateway.Listener sink = new Gateway.Listener(SINK, Env.port(), List.of(firehose.port()),
                    IDLE_TIMEOUT_S + "s");
            try (Gateway gw = Gateway.start(env, "hostile", List.of(pp, tls, sink), List.of(),
                    List.of("--portcullis.rules=file:" + rules))) {
                long rssBefore = gw.statusKiB("VmRSS");
                String header = "PROXY TCP4 192.0.2.7 127.0.0.1 40000 443\r\n";
                List<Kind> kinds = List.of(
                        new Kind("slow PROXY header", PP, "timeout", true),
                        new Kind("slow ClientHello", TLS, "timeout", true),
                        new Kind("oversized v1 header", PP, "malformed_header", false),
                        new Kind("oversized v2 header", PP, "too_large", false),
                        new Kind("oversized ClientHello", TLS, "too_large", false),
                        new Kind("header in 1-byte segments", PP, null, false),
                        new Kind("ClientHello in 1-byte segments", TLS, null, false));
                Map<String, byte[]> sends = Map.of(
                        "slow PROXY header", ascii(header),
                        "slow ClientHello", hello,
                        "oversized v1 header", ascii("PROXY TCP4 " + "1".repeat(200)),
                        "oversized v2 header", v2Header(2 * PP_MAX_BYTES),
                        "oversized ClientHello", oversizedHello(TLS_MAX_BYTES + 1000));
                Map<String, Map<String, Integer>> ends = new TreeMap<>();
                Map<String, AtomicLong> latestMs = new ConcurrentHashMap<>();
                Map<String, AtomicLong> earliestMs = new ConcurrentHashMap<>();
                List<byte[]> expected = Collections.synchronizedList(new ArrayList<>());
                List<Thread> threads = new ArrayList<>();
                for (Kind k : kinds) {
                    ends.put(k.name(), new ConcurrentHashMap<>());
                    latestMs.put(k.name(), new AtomicLong());
                    earliestMs.put(k.name(), new AtomicLong(Long.MAX_VALUE));
                    for (int i = 0; i < n; i++) {
                        int id = i;
                        int port = k.listener().equals(PP) ? pp.port() : tls.port();
                        Thread t = new Thread(null, () -> {
                            try {
                                String end;
                                long t0 = System.nanoTime();
                                if (k.reason() == null) {
                                    byte[] payload = ascii(k.name() + " #" + id + "\n");
                                    byte[] first = k.listener().equals(PP) ? ascii(header) : hello;
                                    // The backend sees the ClientHello as sent; the PROXY header is the gateway's.
                                    expected.add(k.listener().equals(PP) ? payload : concat(hello, payload));
                                    end = segmented(port, 2 + id % 50, concat(first, payload));
                                } else {
                                    end = hostile(port, 2 + id % 50, sends.get(k.name()), k.slow());
                                }
                                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                                latestMs.get(k.name()).accumulateAndGet(ms, Math::max);
                                earliestMs.get(k.name()).accumulateAndGet(ms, Math::min);
                                ends.get(k.name()).merge(end, 1, Integer::sum);
                            } catch (Exception e) {
                                ends.get(k.name()).merge("error " + e, 1, Integer::sum);
                            }
                        }, "hostile", 256 * 1024);
                        t.setDaemon(true);
                        threads.add(t);
                    }
                }
                NonReader[] nonReaders = new NonReader[NON_READERS];
                for (int i = 0; i < NON_READERS; i++) {
                    nonReaders[i] = new NonReader(sink.port(), 60 + i);
                }
                threads.forEach(Thread::start);
                long peakRss = 0;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                for (Thread t : threads) {
                    while (t.isAlive() && System.nanoTime() < deadline) {
                        peakRss = Math.max(peakRss, gw.statusKiB("VmRSS"));
                        t.join(100);
                    }
                }
                // The non-readers: ended by the idle timeout once the backend could write no more.
                long sinkDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(IDLE_TIMEOUT_S * 4L + 20);
                while (firehose.ended() < NON_READERS && System.nanoTime() < sinkDeadline) {
                    peakRss = Math.max(peakRss, gw.statusKiB("VmRSS"));
                    Thread.sleep(100);
                }
                List<String> sinkEnds = new ArrayList<>();
                for (NonReader r : nonReaders) {
                    sinkEnds.add(r.end());
                }
                if (firehose.ended() < NON_READERS) {
                    problems.add((NON_READERS - firehose.ended()) + " never-reading clients not ended by the idle timeout");
                }
                List<Long> lifetimes = new ArrayList<>(firehose.lifetimes);
                for (long ms : lifetimes) {
                    // Idle from when the buffers filled, a few milliseconds in: the timeout, not something sooner.
                    if (ms < (IDLE_TIMEOUT_S - 1) * 1000L) {
                        problems.add("a never-reading client ended after " + ms + " ms, before the idle timeout");
                    }
                }
                long maxWritten = firehose.maxWritten();
                if (maxWritten > NON_READER_BOUND) {
                    problems.add("a never-reading client's backend wrote " + (maxWritten >> 20) + " MiB before it stopped");
                }

                // Each hostile kind ended as it should, in time, and was counted once by its reason.
                StringBuilder summary = new StringBuilder();
                Map<String, Integer> wantedByMeter = new TreeMap<>();
                for (Kind k : kinds) {
                    Map<String, Integer> e = ends.get(k.name());
                    String want = k.reason() == null ? "relayed" : "reset";
                    if (e.getOrDefault(want, 0) != n) {
                        problems.add(k.name() + ": " + e + ", expected " + n + " " + want);
                    }
                    if (k.slow() && latestMs.get(k.name()).get() > SLOW_LATEST_MS) {
                        problems.add(k.name() + ": the last reset after " + latestMs.get(k.name()).get() + " ms");
                    }
                    if (k.reason() != null) {
                        wantedByMeter.merge(k.listener() + "/" + k.reason(), n, Integer::sum);
                    }
                    summary.append(k.name()).append(' ').append(e).append(k.slow() ? " after " + earliestMs.get(k.name())
                            + "-" + latestMs.get(k.name()) + " ms" : "").append("; ");
                }
                Map<String, Long> counted = peekRejects(gw);
                if (!counted.equals(toLong(wantedByMeter))) {
                    problems.add("peek rejects counted " + counted + ", expected " + wantedByMeter);
                }
                Await.until(() -> recorder.received.size() >= 2 * n, 10);
                long lost = 0;
                List<byte[]> unmatched = new ArrayList<>(expected);
                for (byte[] got : recorder.received) {
                    if (!unmatched.removeIf(x -> Arrays.equals(x, got))) {
                        problems.add("the backend got " + got.length + " bytes that no client sent that way");
                    }
                }
                for (byte[] x : unmatched) {
                    lost += x.length;
                }
                if (!unmatched.isEmpty()) {
                    problems.add(unmatched.size() + " segmented clients' bytes not at the backend as sent");
                }
                if (peakRss - rssBefore > RSS_GROWTH_KIB) {
                    problems.add("gateway RSS grew " + (peakRss - rssBefore) / 1024 + " MiB while the clients were on");
                }
                long rss = gw.statusKiB("VmHWM");
                String outcome = summary + "peek rejects counted " + counted + "; backend got " + recorder.received.size()
                        + "/" + 2 * n + " segmented streams byte-exact; never-reading clients: backend wrote at most "
                        + (maxWritten >> 10) + " KiB each before backpressure, ended " + sinkEnds + " after " + lifetimes + " ms (idle-timeout "
                        + IDLE_TIMEOUT_S + " s); gateway RSS "
                        + rssBefore / 1024 + " MiB before, peak " + peakRss / 1024 + " MiB"
                        + (problems.isEmpty() ? "" : "; " + String.join("; ", problems));
                return new Result(name(), n + " clients of each of " + kinds.size() + " kinds at once, " + NON_READERS
                        + " never-reading clients", "1 B/s headers and ClientHellos, oversized headers and ClientHellos,"
                        + " 1-byte segments, a client that never reads", problems.isEmpty(), outcome, lost, rss,
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started));
            }
        }
    }

    /**
     * Sends {@code bytes}, one per second when {@code slow}, else at once, and reads; how the connection ended:
     * {@code reset}, {@code eof} (a FIN, where a reset was due), {@code open} (still open 20 s on).
     */
    private static String hostile(int port, int source, byte[] bytes, boolean slow) throws IOException {
        try (Socket s = Net.connect(source, port)) {
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            int sent = 0;
            while (System.nanoTime() < deadline) {
                try {
                    if (sent < bytes.length) {
                        if (slow) {
                            out.write(bytes[sent++]);
                        } else {
                            out.write(bytes);
                            sent = bytes.length;
                        }
                    }
                } catch (IOException e) {
                    return "reset";
                }
                s.setSoTimeout(slow ? 1000 : 20_000);
                try {
                    int r = in.read();
                    return r < 0 ? "eof" : "answered";
                } catch (SocketTimeoutException e) {
                    // the next byte
                } catch (IOException e) {
                    return "reset";
                }
            }
            return "open";
        }
    }

    /** Sends {@code bytes} one per TCP segment, then a FIN; {@code relayed} when the backend's FIN follows. */
    private static String segmented(int port, int source, byte[] bytes) throws IOException, InterruptedException {
        try (Socket s = Net.connect(source, port)) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            for (int i = 0; i < bytes.length; i++) {
                out.write(bytes[i]);
                if (i % 4 == 3) {
                    Thread.sleep(1); // let each byte leave on its own
                }
            }
            s.shutdownOutput();
            try {
                return s.getInputStream().read() < 0 ? "relayed" : "answered";
            } catch (IOException e) {
                return "reset";
            }
        }
    }

    /** A real TLS 1.3/1.2 ClientHello record as this JVM sends it, naming {@code sni}. */
    static byte[] clientHello(String sni) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, null, null);
        SSLEngine engine = context.createSSLEngine(sni, 443);
        engine.setUseClientMode(true);
        SSLParameters params = engine.getSSLParameters();
        params.setServerNames(List.of(new SNIHostName(sni)));
        params.setApplicationProtocols(new String[] {"h2", "http/1.1"});
        engine.setSSLParameters(params);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.beginHandshake();
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] record = new byte[out.remaining()];
        out.get(record);
        if (record.length < 6 || record[0] != 0x16 || record[5] != 0x01) {
            throw new IllegalStateException("SSLEngine did not start with a ClientHello record");
        }
        return record;
    }

    /** A handshake record announcing a ClientHello of {@code length} bytes, followed by that many. */
    private static byte[] oversizedHello(int length) {
        byte[] b = new byte[5 + 4 + length];
        new SplittableRandom(5).nextBytes(b);
        int record = Math.min(0x4000, 4 + length);
        b[0] = 0x16;
        b[1] = 0x03;
        b[2] = 0x01;
        b[3] = (byte) (record >> 8);
        b[4] = (byte) record;
        b[5] = 0x01;
        b[6] = (byte) (length >> 16);
        b[7] = (byte) (length >> 8);
        b[8] = (byte) length;
        return b;
    }

    /** A PROXY v2 PROXY/TCP4 header whose address part is {@code length} bytes (addresses, then padding TLVs). */
    private static byte[] v2Header(int length) {
        byte[] b = new byte[16 + length];
        byte[] sig = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
        System.arraycopy(sig, 0, b, 0, sig.length);
        b[12] = 0x21;
        b[13] = 0x11;
        b[14] = (byte) (length >> 8);
        b[15] = (byte) length;
        byte[] addresses = {(byte) 192, 0, 2, 7, 127, 0, 0, 1, (byte) 0x9c, 0x40, 0x01, (byte) 0xbb};
        System.arraycopy(addresses, 0, b, 16, addresses.length);
        // One NOOP TLV (type 0x04) pads the rest.
        int tlv = length - addresses.length - 3;
        b[28] = 0x04;
        b[29] = (byte) (tlv >> 8);
        b[30] = (byte) tlv;
        return b;
    }

    /** {@code portcullis_peek_rejects_total} of this scenario's listeners, as listener/reason, zeros left out. */
    private static Map<String, Long> peekRejects(Gateway gw) {
        Map<String, Long> m = new TreeMap<>();
        for (String line : gw.get("/actuator/prometheus").split("\n")) {
            if (line.startsWith("portcullis_peek_rejects_total{")) {
                long v = (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                String listener = between(line, "listener=\"");
                String reason = between(line, "reason=\"");
                if (v > 0) {
                    m.put(listener + "/" + reason, v);
                }
            }
        }
        return m;
    }

    private static String between(String line, String key) {
        int i = line.indexOf(key) + key.length();
        return line.substring(i, line.indexOf('"', i));
    }

    private static Map<String, Long> toLong(Map<String, Integer> m) {
        Map<String, Long> r = new TreeMap<>();
        m.forEach((k, v) -> r.put(k, (long) v));
        return r;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** A backend that keeps what each connection sent until its FIN, then closes. */
    private static final class Recorder implements AutoCloseable {

        final List<byte[]> received = Collections.synchronizedList(new ArrayList<>());
        private final ServerSocket server;

        Recorder() throws IOException {
            server = new ServerSocket(Env.port(), 200, Net.LOOPBACK);
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread c = new Thread(null, () -> record(s), "recorder-conn", 128 * 1024);
                        c.setDaemon(true);
                        c.start();
                    } catch (IOException e) {
                        // closed, or one failed accept
                    }
                }
            }, "recorder");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void record(Socket s) {
            try (s) {
                s.setSoTimeout(30_000);
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                s.getInputStream().transferTo(got);
                received.add(got.toByteArray());
            } catch (IOException e) {
                // a reset: nothing complete to record
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /**
     * A backend that writes as fast as it can to every connection until a write fails; records how much each
     * wrote. A write blocked by a full socket buffer is what the gateway's backpressure looks like from here.
     */
    private static final class Firehose implements AutoCloseable {

        private final ServerSocket server;
        private final List<AtomicLong> written = Collections.synchronizedList(new ArrayList<>());
        private final AtomicLong ended = new AtomicLong();
        /** From accept to the failed write, per connection, milliseconds. */
        final List<Long> lifetimes = Collections.synchronizedList(new ArrayList<>());

        Firehose() throws IOException {
            server = new ServerSocket(Env.port(), 50, Net.LOOPBACK);
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        AtomicLong w = new AtomicLong();
                        written.add(w);
                        Thread c = new Thread(null, () -> pour(s, w), "firehose-conn", 128 * 1024);
                        c.setDaemon(true);
                        c.start();
                    } catch (IOException e) {
                        // closed, or one failed accept
                    }
                }
            }, "firehose");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        int ended() {
            return (int) ended.get();
        }

        long maxWritten() {
            synchronized (written) {
                return written.stream().mapToLong(AtomicLong::get).max().orElse(0);
            }
        }

        private void pour(Socket s, AtomicLong w) {
            byte[] chunk = new byte[64 * 1024];
            long t0 = System.nanoTime();
            try (s) {
                OutputStream out = s.getOutputStream();
                while (true) {
                    out.write(chunk);
                    w.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                lifetimes.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                ended.incrementAndGet();
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** A client with a small receive buffer that never reads until it is asked how it ended. */
    private static final class NonReader {

        private final Socket socket;

        NonReader(int port, int source) throws IOException {
            socket = new Socket();
            socket.setReceiveBufferSize(4096);
            socket.bind(new java.net.InetSocketAddress(Net.loopback(source), 0));
            socket.connect(new java.net.InetSocketAddress(Net.LOOPBACK, port), 5000);
        }

        /** Drains what the kernel holds and says how it ended (eof, reset, open after 5 s). */
        String end() {
            try (socket) {
                socket.setSoTimeout(5000);
                Net.End e = Net.drain(socket.getInputStream(), new byte[64 * 1024]);
                return e.name().toLowerCase(java.util.Locale.ROOT);
            } catch (IOException e) {
                return "reset";
            }
        }
    }

}
