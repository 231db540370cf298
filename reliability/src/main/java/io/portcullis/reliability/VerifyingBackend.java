package io.portcullis.reliability;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend on 127.0.0.1 that checks what it receives against the SHA-256 the client announced. Each
 * connection starts with a header: mode (1 byte), client length, client SHA-256 (32 bytes), server length,
 * seed (8 bytes each). Mode {@code E}: echoes every byte after the header, half-closing after the client's
 * FIN. Mode {@code S}: sends {@code server length} bytes of stream {@code seed + 1}, half-closes first, then
 * reads the client's bytes. Mode {@code P} (a slow reader): reads nothing for {@code server length}
 * milliseconds, then reads and checks the client's bytes, sending none. Mode {@code R}: reads half of the client's
 * bytes, sends {@code server length} bytes, then resets the connection. Run in the suite's process, or as a process
 * of its own ({@link #main}) that a scenario kills with SIGKILL.
 */
final class VerifyingBackend implements AutoCloseable {

    static final int HEADER = 1 + 8 + 32 + 8 + 8;

    private final ServerSocket server;
    final AtomicLong verified = new AtomicLong();
    final AtomicLong mismatched = new AtomicLong();
    final AtomicLong accepted = new AtomicLong();
    final AtomicLong resets = new AtomicLong();

    VerifyingBackend(int port, int backlog) throws IOException {
        server = new ServerSocket(port, backlog, Net.LOOPBACK);
        Thread t = new Thread(this::acceptLoop, "backend-" + port);
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                accepted.incrementAndGet();
                Thread t = new Thread(null, () -> serve(s), "conn", 256 * 1024);
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(120_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            int mode = in.readUnsignedByte();
            long clientLength = in.readLong();
            byte[] sha = new byte[32];
            in.readFully(sha);
            long serverLength = in.readLong();
            long seed = in.readLong();
            byte[] buf = new byte[65536];
            if (mode == 'R') {
                resetMidStream(s, in, out, clientLength, serverLength, seed, buf);
                return;
            }
            if (mode == 'P') {
                sleep(serverLength);
            }
            if (mode == 'S') {
                for (long off = 0; off < serverLength; off += buf.length) {
                    int n = (int) Math.min(buf.length, serverLength - off);
                    Payload.fill(seed + 1, off, buf, n);
                    out.write(buf, 0, n);
                }
                s.shutdownOutput();
            }
            MessageDigest md = Payload.sha256();
            long got = 0;
            int n;
            while ((n = in.read(buf)) >= 0) {
                md.update(buf, 0, n);
                got += n;
                if (mode == 'E') {
                    out.write(buf, 0, n);
                }
            }
            if (got == clientLength && Arrays.equals(md.digest(), sha)) {
                verified.incrementAndGet();
            } else {
                mismatched.incrementAndGet();
            }
            if (mode == 'E') {
                s.shutdownOutput();
            }
            // Wait for the gateway's side to end, so the close is not a reset of bytes in flight.
            drainQuietly(in, buf);
        } catch (IOException e) {
            // the connection's own failure: the client side sees and counts it
        }
    }

    /** Reads half of the client's bytes, sends {@code serverLength} bytes, then a reset: the stream is cut. */
    private void resetMidStream(Socket s, DataInputStream in, OutputStream out, long clientLength, long serverLength,
            long seed, byte[] buf) throws IOException {
        for (long got = 0; got < clientLength / 2; ) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, clientLength / 2 - got));
            if (n < 0) {
                break;
            }
            got += n;
        }
        for (long off = 0; off < serverLength; off += buf.length) {
            int n = (int) Math.min(buf.length, serverLength - off);
            Payload.fill(seed + 1, off, buf, n);
            out.write(buf, 0, n);
        }
        s.setSoLinger(true, 0);
        resets.incrementAndGet();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void drainQuietly(InputStream in, byte[] buf) {
        try {
            while (in.read(buf) >= 0) {
                // nothing more is expected
            }
        } catch (IOException e) {
            // gone
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    /** A backend as a process of its own: {@code VerifyingBackend PORT}; prints "ready" once listening. */
    public static void main(String[] args) throws Exception {
        try (VerifyingBackend b = new VerifyingBackend(Integer.parseInt(args[0]), 1000)) {
            System.out.println("ready " + b.port());
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
