package io.portcullis.core.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A plain blocking TCP server on 127.0.0.1 whose accepted connections the test drives by hand, step by
 * step on its own thread: a backend that half-closes first, resets, or just counts bytes.
 */
public final class BlockingServer implements AutoCloseable {

    private final ServerSocket server;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();

    private BlockingServer(ServerSocket server) {
        this.server = server;
    }

    public static BlockingServer start() throws IOException {
        return new BlockingServer(new ServerSocket(0, 50, TestClient.loopback(1)));
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    /** The next connection, within {@code deadline}. */
    public TestClient accept(Duration deadline) throws IOException {
        server.setSoTimeout((int) Math.max(1, deadline.toMillis()));
        try {
            Socket s = server.accept();
            accepted.add(s);
            return TestClient.of(s);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no connection within " + deadline, e);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : accepted) {
            s.close();
        }
    }
}
