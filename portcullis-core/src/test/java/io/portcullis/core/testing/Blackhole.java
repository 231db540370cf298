package io.portcullis.core.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A loopback address where a connect neither succeeds nor is refused: a listening socket whose accept
 * queue is full, so Linux drops further SYNs and the connecting side waits for its own timeout.
 */
public final class Blackhole implements AutoCloseable {

    private final ServerSocket server;
    private final List<Socket> fillers;

    private Blackhole(ServerSocket server, List<Socket> fillers) {
        this.server = server;
        this.fillers = fillers;
    }

    /** A blackhole, or empty where the platform answers SYNs to a full queue (then skip the test). */
    public static Optional<Blackhole> open() throws IOException {
        ServerSocket server = new ServerSocket(0, 1, TestClient.loopback(1));
        List<Socket> fillers = new ArrayList<>();
        InetSocketAddress address = new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
        for (int i = 0; i < 8; i++) {
            Socket s = new Socket();
            fillers.add(s);
            try {
                s.connect(address, 300);
            } catch (SocketTimeoutException e) {
                return Optional.of(new Blackhole(server, fillers));
            }
        }
        new Blackhole(server, fillers).close();
        return Optional.empty();
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    @Override
    public void close() throws IOException {
        for (Socket s : fillers) {
            s.close();
        }
        server.close();
    }
}
