package io.portcullis.core.testing;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * A blocking test client over {@link Socket}: connect from a chosen loopback address, write, read exactly
 * n bytes before a deadline, expect EOF or a reset. Every wait has a deadline; nothing waits forever.
 * One thread at a time, except that one thread may write while another reads.
 */
public final class TestClient implements AutoCloseable {

    /** How long a single step may take unless told otherwise. */
    public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(10);

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private TestClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Wraps a connected socket, e.g. the server end from {@link BlockingServer#accept}, for the same helpers. */
    public static TestClient of(Socket socket) {
        try {
            return new TestClient(socket);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Connects from 127.0.0.1. */
    public static TestClient connect(InetSocketAddress target) throws IOException {
        return connect(loopback(1), target, 0);
    }

    /** Connects from {@code local} (e.g. {@code 127.0.0.2}, an ephemeral port) within 5 s. */
    public static TestClient connect(InetAddress local, InetSocketAddress target) throws IOException {
        return connect(local, target, 0);
    }

    /**
     * Connects from {@code local}; {@code receiveBuffer > 0} sets SO_RCVBUF before connecting, which makes
     * a slow reader's TCP window small so backpressure reaches the peer quickly.
     */
    public static TestClient connect(InetAddress local, InetSocketAddress target, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        try {
            if (receiveBuffer > 0) {
                s.setReceiveBufferSize(receiveBuffer);
            }
            s.setTcpNoDelay(true);
            s.bind(new InetSocketAddress(local, 0));
            s.connect(target, 5_000);
            return new TestClient(s);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * Connects from {@code local} and expects a reset without a byte. A listener that rejects at once can
     * reset the connection before {@code connect} returns, so a reset during the connect counts too.
     */
    public static void expectRejected(InetAddress local, InetSocketAddress target, Duration deadline) throws IOException {
        TestClient client;
        try {
            client = connect(local, target);
        } catch (SocketException e) {
            return; // reset while connecting
        }
        try (client) {
            client.expectReset(deadline);
        }
    }

    /**
     * Connects from {@code local} and expects no answer at all: no SYN-ACK and no reset, so the connect times out
     * after {@code wait}. A kernel filter dropping the SYN looks like this; a reset fails the check.
     */
    public static void expectNoAnswer(InetAddress local, InetSocketAddress target, Duration wait) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(local, 0));
            s.connect(target, (int) wait.toMillis());
            throw new AssertionError(local + " connected to " + target + "; expected no answer");
        } catch (java.net.SocketTimeoutException expected) {
            // nothing came back within the wait
        }
    }

    /** {@code 127.0.0.n}. */
    public static InetAddress loopback(int n) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) n});
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /**
     * A loopback port that refuses every connect: a socket bound to it that does not listen, kept open for the rest
     * of the test run, so that no server bound to an ephemeral port afterwards can be given the same port (a port
     * merely closed again can be, and then the "dead" backend answers).
     */
    public static InetSocketAddress deadPort() {
        Socket reserved = new Socket();
        try {
            reserved.bind(new InetSocketAddress(loopback(1), 0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        RESERVED_PORTS.add(reserved);
        return new InetSocketAddress(loopback(1), reserved.getLocalPort());
    }

    /** Gives a {@link #deadPort()} back, for a test that brings a server up on it. */
    public static void freeDeadPort(int port) {
        for (Socket s : RESERVED_PORTS) {
            if (s.getLocalPort() == port) {
                RESERVED_PORTS.remove(s);
                try {
                    s.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    /** Sockets that hold dead ports; a few per test run. */
    private static final java.util.List<Socket> RESERVED_PORTS = new java.util.concurrent.CopyOnWriteArrayList<>();

    public Socket socket() {
        return socket;
    }

    public TestClient write(byte[] data) throws IOException {
        out.write(data);
        out.flush();
        return this;
    }

    public TestClient write(byte[] data, int offset, int length) throws IOException {
        out.write(data, offset, length);
        out.flush();
        return this;
    }

    /** Reads exactly {@code n} bytes within {@link #DEFAULT_DEADLINE}. */
    public byte[] readExactly(int n) throws IOException {
        return readExactly(n, DEFAULT_DEADLINE);
    }

    /**
     * Reads exactly {@code n} bytes.
     *
     * @throws SocketTimeoutException when the deadline passes first
     * @throws EOFException when the stream ends first
     */
    public byte[] readExactly(int n, Duration deadline) throws IOException {
        byte[] buf = new byte[n];
        long end = System.nanoTime() + deadline.toNanos();
        int got = 0;
        while (got < n) {
            setTimeout(end);
            int r = in.read(buf, got, n - got);
            if (r < 0) {
                throw new EOFException("stream ended after " + got + " of " + n + " bytes");
            }
            got += r;
        }
        return buf;
    }

    /** Reads up to {@code max} bytes, as many as one read gives; -1 at EOF. */
    public int readSome(byte[] buf, int max, Duration deadline) throws IOException {
        setTimeout(System.nanoTime() + deadline.toNanos());
        return in.read(buf, 0, max);
    }

    /** Expects the end of the stream (a FIN) and no further byte before it. */
    public void expectEof(Duration deadline) throws IOException {
        long end = System.nanoTime() + deadline.toNanos();
        setTimeout(end);
        int r = in.read();
        if (r >= 0) {
            throw new AssertionError("expected EOF, got a byte: " + r);
        }
    }

    /** Expects the connection to end with a FIN or a reset, whichever, and no byte before it. */
    public void expectClosed(Duration deadline) throws IOException {
        try {
            expectEof(deadline);
        } catch (SocketException e) {
            // a reset: closed as well
        }
    }

    /** Expects a reset: a read, or failing that a write, ends in "Connection reset". */
    public void expectReset(Duration deadline) throws IOException {
        long end = System.nanoTime() + deadline.toNanos();
        try {
            setTimeout(end);
            int r = in.read();
            if (r >= 0) {
                throw new AssertionError("expected a reset, got a byte: " + r);
            }
        } catch (SocketException e) {
            return;
        }
        throw new AssertionError("expected a reset, got a FIN");
    }

    /** Half-close: sends FIN, keeps reading. */
    public void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    /** Closes with SO_LINGER 0: the peer gets a reset. */
    public void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    private void setTimeout(long endNanos) throws IOException {
        long left = endNanos - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
