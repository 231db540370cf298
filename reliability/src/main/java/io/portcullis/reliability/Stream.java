package io.portcullis.reliability;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One client connection to a {@link VerifyingBackend} through the gateway: writes its stream in random
 * write sizes on a thread of its own, half-closes, and reads and hashes what comes back until the end.
 */
final class Stream {

    /** How the read side ended, and whether what came was complete and intact. */
    enum Outcome { INTACT, TRUNCATED_EOF, RESET, TIMEOUT, CONNECT_FAILED }

    final long clientLength;
    final long expected;
    volatile long received;
    volatile long sent;
    volatile Outcome outcome;
    /** Why the writer stopped early, or null. */
    private volatile String writeError;
    /** Set by the caller to stop an endless stream ({@link #clientLength} {@code Long.MAX_VALUE}). */
    final AtomicBoolean stop = new AtomicBoolean();

    private final int source;
    private final int port;
    private final char mode;
    private final long serverLength;
    private final long seed;
    private final int readTimeoutMillis;

    Stream(int source, int port, char mode, long clientLength, long serverLength, long seed, int readTimeoutMillis) {
        this.source = source;
        this.port = port;
        this.mode = mode;
        this.clientLength = clientLength;
        this.serverLength = serverLength;
        this.seed = seed;
        this.readTimeoutMillis = readTimeoutMillis;
        // P: nothing comes back; R: the backend resets, so no end of stream is complete
        this.expected = mode == 'E' ? clientLength : mode == 'P' ? 0 : mode == 'R' ? -1 : serverLength;
    }

    /** Milliseconds the client reads nothing before it reads: a slow reader the gateway must not buffer for. */
    private volatile long readPauseMillis;

    Stream pauseReading(long millis) {
        this.readPauseMillis = millis;
        return this;
    }

    /** Runs the connection to its end on the calling thread; the writer runs beside it. */
    Outcome run() {
        Socket s;
        try {
            s = Net.connect(source, port);
            s.setSoTimeout(readTimeoutMillis);
        } catch (IOException e) {
            return outcome = Outcome.CONNECT_FAILED;
        }
        try (s) {
            Thread writer = new Thread(null, () -> write(s), "writer", 256 * 1024);
            writer.setDaemon(true);
            writer.start();
            if (readPauseMillis > 0) {
                Thread.sleep(readPauseMillis);
            }
            Outcome read = read(s.getInputStream());
            // Closing now would cut what the writer has still to send (the backend half-closes first in mode S).
            writer.join(readTimeoutMillis);
            // Linux reports a reset to one call only: when the writer took it, the reader got end of stream.
            // ECONNRESET means no FIN came first (after a FIN the writer gets EPIPE, "Broken pipe").
            String w = writeError;
            if (read == Outcome.TRUNCATED_EOF && w != null && w.toLowerCase(java.util.Locale.ROOT).contains("reset")) {
                read = Outcome.RESET;
            }
            outcome = read;
            return outcome;
        } catch (IOException e) {
            return outcome = Outcome.RESET;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return outcome = Outcome.TIMEOUT;
        }
    }

    private void write(Socket s) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 7);
        try {
            OutputStream raw = s.getOutputStream();
            DataOutputStream out = new DataOutputStream(raw);
            out.writeByte(mode);
            out.writeLong(clientLength);
            out.write(clientLength == Long.MAX_VALUE ? new byte[32] : Payload.sha256(seed, clientLength));
            out.writeLong(serverLength);
            out.writeLong(seed);
            out.flush();
            byte[] buf = new byte[65536];
            long off = 0;
            while (off < clientLength && !stop.get()) {
                int n = (int) Math.min(1 + rnd.nextInt(buf.length), clientLength - off);
                Payload.fill(seed, off, buf, n);
                raw.write(buf, 0, n);
                off += n;
                sent = off;
            }
            s.shutdownOutput();
        } catch (IOException e) {
            writeError = String.valueOf(e.getMessage());
        }
    }

    private Outcome read(InputStream in) {
        long streamSeed = mode == 'E' ? seed : seed + 1;
        byte[] buf = new byte[65536];
        byte[] want = new byte[65536];
        long at = 0;
        boolean intact = true;
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (intact) {
                    Payload.fill(streamSeed, at, want, n);
                    intact = Arrays.equals(buf, 0, n, want, 0, n);
                }
                at += n;
                received = at;
            }
        } catch (SocketTimeoutException e) {
            return Outcome.TIMEOUT;
        } catch (SocketException e) {
            return Outcome.RESET;
        } catch (IOException e) {
            return Outcome.RESET;
        }
        return intact && at == (clientLength == Long.MAX_VALUE ? sent : expected) ? Outcome.INTACT : Outcome.TRUNCATED_EOF;
    }

    /** Bytes of the expected answer that did not arrive intact. */
    long lost() {
        return outcome == Outcome.INTACT ? 0 : Math.max(0, (clientLength == Long.MAX_VALUE ? sent : expected) - received);
    }
}
