package io.portcullis.core;

import java.io.IOException;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The process {@link AcceptEmfileTest} starts with a small open-files limit: one listener on the transport named by
 * the first argument, which accepts every connection and holds it, so that each client costs a file. Prints
 * {@code PORT n} once bound; exits when its stdin closes.
 */
final class AcceptEmfileChild {

    private AcceptEmfileChild() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        List<AcceptedConnection> held = new CopyOnWriteArrayList<>();
        try (EventLoops loops = EventLoops.create(Transport.parse(args[0]), 1);
             Listener listener = Listener.builder("emfile").eventLoops(loops).conditionalAccept(false)
                     .acceptHandler(held::add).build().start()) {
            // One connection in and out first: the classes it needs are loaded while files can still be opened.
            try (Socket warmUp = new Socket(listener.localAddress().getAddress(), listener.localAddress().getPort())) {
                warmUp.getOutputStream().write(1);
            }
            Thread.sleep(300);
            System.out.println("PORT " + listener.localAddress().getPort());
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the test closes stdin
            }
        }
    }
}
