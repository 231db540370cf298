package io.portcullis.reliability;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A decision service of the gateway's {@code type: http} protocol on 127.0.0.1, plain sockets and HTTP/1.1
 * keep-alive, whose behaviour is switched while it runs ({@link Mode}). When well, a POST to a path ending in
 * {@code /accept} is answered {@code {"action":"accept"}}, any other path {@code {"action":"reject"}}, so that
 * one service tells two gateway services apart by URL.
 */
final class FakeDecisionService implements AutoCloseable {

    /** How the service behaves for the requests that arrive while the mode is set. */
    enum Mode {
        /** Answers at once. */
        OK,
        /** The port is closed: connections are refused (pooled ones are closed too). */
        DOWN,
        /** Reads the request and never answers, until the mode changes. */
        HANG,
        /** Answers well, after {@link #SLOW_MILLIS}. */
        SLOW,
        /** Status 200 with a body that is not JSON. */
        GARBAGE,
        /** Status 500. */
        ERROR_500,
        /** Headers and half the announced body, then a close. */
        CLOSE_MID,
        /** OK in even seconds, 500 in odd ones. */
        FLAP;

        String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    static final long SLOW_MILLIS = 2000;
    /** A request head larger than this is not ours: the connection is closed. */
    private static final int MAX_HEAD = 16 * 1024;

    private final int port;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile Mode mode = Mode.OK;
    private volatile ServerSocket server;
    private volatile boolean closed;
    /** Requests answered well, and requests met with a fault (a refused connection is not seen, not counted). */
    final AtomicLong answered = new AtomicLong();
    final AtomicLong faulted = new AtomicLong();

    FakeDecisionService(int port) throws IOException {
        this.port = port;
        listen();
    }

    int port() {
        return port;
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** Switches the behaviour; DOWN closes the port and every connection, leaving DOWN opens it again. */
    synchronized void mode(Mode next) throws IOException {
        Mode was = mode;
        mode = next;
        if (next == Mode.DOWN && was != Mode.DOWN) {
            server.close();
            for (Socket s : open) {
                closeQuietly(s);
            }
        } else if (next != Mode.DOWN && was == Mode.DOWN) {
            listen();
        }
    }

    private void listen() throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(Net.LOOPBACK, port), 200);
        server = s;
        Thread t = new Thread(() -> acceptLoop(s), "decision-" + port);
        t.setDaemon(true);
        t.start();
    }

    private void acceptLoop(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket c = s.accept();
                open.add(c);
                Thread t = new Thread(null, () -> serve(c), "decision-conn", 256 * 1024);
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(60_000);
            s.setTcpNoDelay(true);
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (!closed) {
                String path = readRequest(in);
                if (path == null) {
                    return;
                }
                if (!answer(s, out, path)) {
                    return;
                }
            }
        } catch (IOException e) {
            // the gateway gave up on this connection: that is its business
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            open.remove(s);
        }
    }

    /** Answers one request as the mode says; false when the connection is to be closed. */
    private boolean answer(Socket s, OutputStream out, String path) throws IOException, InterruptedException {
        Mode m = mode;
        if (m == Mode.FLAP) {
            m = (System.currentTimeMillis() / 1000) % 2 == 0 ? Mode.OK : Mode.ERROR_500;
        }
        String verdict = path.endsWith("/accept") ? "accept" : "reject";
        switch (m) {
            case OK -> {
                answered.incrementAndGet();
                write(out, 200, "{\"action\":\"" + verdict + "\",\"reason\":\"fake service\"}");
                return true;
            }
            case SLOW -> {
                faulted.incrementAndGet();
                Thread.sleep(SLOW_MILLIS);
                write(out, 200, "{\"action\":\"" + verdict + "\",\"reason\":\"slow fake service\"}");
                return true;
            }
            case GARBAGE -> {
                faulted.incrementAndGet();
                write(out, 200, "<html>this is not {json");
                return true;
            }
            case ERROR_500 -> {
                faulted.incrementAndGet();
                write(out, 500, "{\"error\":\"internal\"}");
                return true;
            }
            case CLOSE_MID -> {
                faulted.incrementAndGet();
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 48\r\n\r\n"
                        + "{\"action\":\"" + verdict).getBytes(StandardCharsets.US_ASCII));
                out.flush();
                return false;
            }
            case HANG -> {
                faulted.incrementAndGet();
                while (mode == Mode.HANG && !closed && !s.isClosed()) {
                    Thread.sleep(50);
                }
                return false;
            }
            default -> {
                // DOWN with a connection that slipped in before the close
                faulted.incrementAndGet();
                return false;
            }
        }
    }

    private static void write(OutputStream out, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + (status == 200 ? " OK" : " Internal Server Error")
                + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
    }

    /** Reads one request (head and a Content-Length body); its path, or null at the end of the connection. */
    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream(512);
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0 || head.size() > MAX_HEAD) {
                return null;
            }
            head.write(b);
            matched = (b == '\r' || b == '\n') && "\r\n\r\n".charAt(matched) == b ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
        String[] request = lines[0].split(" ");
        if (request.length < 2) {
            return null;
        }
        long length = 0;
        boolean chunked = false;
        for (String line : lines) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(line.substring(15).trim());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            }
        }
        if (chunked) {
            return skipChunks(in) ? request[1] : null;
        }
        if (length > MAX_HEAD) {
            return null;
        }
        if (in.readNBytes((int) length).length < length) {
            return null;
        }
        return request[1];
    }

    /** Skips a chunked body (no trailers expected); false when the connection ends first or it is too big. */
    private static boolean skipChunks(InputStream in) throws IOException {
        long total = 0;
        while (true) {
            String size = line(in);
            if (size == null) {
                return false;
            }
            int semi = size.indexOf(';');
            long n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
            total += n;
            if (total > MAX_HEAD) {
                return false;
            }
            if (n == 0) {
                return line(in) != null;
            }
            if (in.readNBytes((int) n).length < n || line(in) == null) {
                return false;
            }
        }
    }

    /** One CRLF-ended line, null at the end of the stream or past {@link #MAX_HEAD}. */
    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0 && sb.length() <= MAX_HEAD) {
            if (b == '\n') {
                int end = sb.length() > 0 && sb.charAt(sb.length() - 1) == '\r' ? sb.length() - 1 : sb.length();
                return sb.substring(0, end);
            }
            sb.append((char) b);
        }
        return null;
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already gone
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Socket s : open) {
            closeQuietly(s);
        }
        try {
            TimeUnit.MILLISECONDS.sleep(100); // the hanging threads see closed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
