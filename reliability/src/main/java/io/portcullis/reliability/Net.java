package io.portcullis.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.UnknownHostException;

/** Loopback only: every address the suite uses is in 127.0.0.0/8. */
final class Net {

    static final InetAddress LOOPBACK = loopback(1);

    private Net() {
    }

    /** 127.0.0.n, n in 1..254. */
    static InetAddress loopback(int n) {
        if (n < 1 || n > 254) {
            throw new IllegalArgumentException("127.0.0." + n + " is not a loopback host address");
        }
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) n});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client socket from 127.0.0.{@code source} to 127.0.0.1:{@code port}, 5 s to connect. */
    static Socket connect(int source, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(loopback(source), 0));
        s.connect(new InetSocketAddress(LOOPBACK, port), 5000);
        return s;
    }

    /** How a read side ended. */
    enum End { EOF, RESET, TIMEOUT }

    /** Reads until end of stream, a reset or the socket timeout, discarding. */
    static End drain(InputStream in, byte[] buf) {
        try {
            while (in.read(buf) >= 0) {
                // discard
            }
            return End.EOF;
        } catch (java.net.SocketTimeoutException e) {
            return End.TIMEOUT;
        } catch (SocketException e) {
            return End.RESET;
        } catch (IOException e) {
            return End.RESET;
        }
    }
}
