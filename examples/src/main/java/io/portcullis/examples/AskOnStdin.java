package io.portcullis.examples;

import io.portcullis.core.EventLoops;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectHandler;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.Listener;
import io.portcullis.core.Verdict;
import io.portcullis.core.demo.EchoServer;
import io.portcullis.core.relay.Balance;
import io.portcullis.core.relay.BackendPool;
import io.portcullis.core.relay.RelayAcceptHandler;
import io.portcullis.core.relay.RelayObserver;
import io.portcullis.core.relay.RelaySettings;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Conditional accept embedded in a plain Java program: every connection is pended and the user answers on
 * stdin whether it may through (to a built-in echo server). Usage: {@code AskOnStdin [host:port]}.
 */
public final class AskOnStdin {

    public static void main(String[] args) throws Exception {
        String[] bind = (args.length > 0 ? args[0] : "127.0.0.1:7100").split(":");
        BlockingQueue<InspectRequest> questions = new LinkedBlockingQueue<>();
        try (EventLoops loops = EventLoops.create(1);
             EchoServer echo = new EchoServer(loops, new InetSocketAddress("127.0.0.1", 0)).start()) {
            BackendPool pool = new BackendPool(List.of(echo.localAddress()), Balance.ROUND_ROBIN);
            Listener listener = Listener.builder("ask")
                    .bind(new InetSocketAddress(bind[0], Integer.parseInt(bind[1])))
                    .eventLoops(loops)
                    .inspectTimeout(Duration.ofMinutes(1))
                    .inspectHandler(new InspectHandler() {
                        @Override // event loop: decide nothing here, it must not block
                        public InspectAction inspect(InspectRequest request) {
                            return InspectAction.PEND;
                        }

                        @Override // now pended, so completable: hand it to the main thread
                        public void pended(InspectRequest request, Verdict verdict) {
                            questions.add(request);
                        }
                    })
                    .abortHandler((id, reason) -> System.out.println(id + " ended unanswered: " + reason))
                    .acceptHandler(new RelayAcceptHandler("ask", pool,
                            new RelaySettings(Duration.ofSeconds(2), Duration.ofMinutes(5)), loops, RelayObserver.NONE))
                    .build()
                    .start();
            System.out.println("listening on " + listener.localAddress() + "; answer y or n for each connection");
            BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in));
            while (true) {
                InspectRequest request = questions.take();
                System.out.println("connection " + request.id() + " from " + request.source() + ": accept? [y/n]");
                String answer = stdin.readLine();
                if (answer == null) {
                    break;
                }
                InspectAction action = answer.strip().startsWith("y") ? InspectAction.ACCEPT : InspectAction.REJECT;
                if (!listener.inspectComplete(request.id(), action)) {
                    System.out.println(request.id() + " had ended already");
                }
            }
            listener.close();
        }
    }
}
