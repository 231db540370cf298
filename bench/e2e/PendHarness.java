import io.portcullis.core.EventLoops;
import io.portcullis.core.InspectHandler;
import io.portcullis.core.Listener;
import io.portcullis.core.relay.Balance;
import io.portcullis.core.relay.BackendPool;
import io.portcullis.core.relay.RelayAcceptHandler;
import io.portcullis.core.relay.RelayObserver;
import io.portcullis.core.relay.RelaySettings;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.Verdict;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The embedded pend path of the end-to-end benchmark (bench/run-e2e.sh), built on the {@code Listener} builder
 * API alone (no Spring, no policy, no meters). Two listeners on the same event loops, both relaying to the
 * backend with the gateway's own {@link RelayAcceptHandler}:
 *
 * <ul>
 *   <li>{@code accept}: the inspect handler answers ACCEPT at once (the cost of the bare listener and relay);</li>
 *   <li>{@code pend}: the inspect handler answers PEND and, once pended, hands the id to another thread, which
 *       calls {@code inspectComplete(id, ACCEPT)} at once (the cost of a pend, a thread hop and a completion).</li>
 * </ul>
 *
 * <p>Compiled by the script against the classes of portcullis.jar. Ends by itself after MAX_SECONDS.
 *
 * <p>usage: {@code PendHarness ACCEPT_PORT PEND_PORT BACKEND_PORT WORKER_THREADS MAX_SECONDS}
 */
public final class PendHarness {

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: PendHarness ACCEPT_PORT PEND_PORT BACKEND_PORT WORKER_THREADS MAX_SECONDS");
            System.exit(2);
        }
        int acceptPort = Integer.parseInt(args[0]);
        int pendPort = Integer.parseInt(args[1]);
        InetSocketAddress backend = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[2]));
        int workers = Integer.parseInt(args[3]);
        long maxSeconds = Long.parseLong(args[4]);

        EventLoops loops = EventLoops.create(workers);
        ExecutorService completer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "bench-completer");
            t.setDaemon(true);
            return t;
        });

        Listener accepting = Listener.builder("accept")
                .bind(new InetSocketAddress("127.0.0.1", acceptPort))
                .eventLoops(loops)
                .acceptHandler(relay("accept", backend, loops))
                .inspectHandler(request -> InspectAction.ACCEPT)
                .build()
                .start();

        AtomicReference<Listener> pendRef = new AtomicReference<>();
        Listener pending = Listener.builder("pend")
                .bind(new InetSocketAddress("127.0.0.1", pendPort))
                .eventLoops(loops)
                .acceptHandler(relay("pend", backend, loops))
                .maxPending(100_000)
                .inspectTimeout(Duration.ofSeconds(10))
                .inspectHandler(new InspectHandler() {
                    @Override
                    public InspectAction inspect(InspectRequest request) {
                        return InspectAction.PEND;
                    }

                    /** Pended: now the id can be completed, so the hand-off starts here. */
                    @Override
                    public void pended(InspectRequest request, Verdict verdict) {
                        InspectId id = request.id();
                        completer.execute(() -> pendRef.get().inspectComplete(id, InspectAction.ACCEPT));
                    }
                })
                .build();
        pendRef.set(pending);
        pending.start();

        System.out.println("READY accept=" + accepting.localAddress().getPort() + " pend=" + pending.localAddress().getPort());
        Thread.sleep(maxSeconds * 1000);
        System.out.println("max run time reached, stopping");
        accepting.close();
        pending.close();
        loops.close();
        System.exit(0);
    }

    private static RelayAcceptHandler relay(String name, InetSocketAddress backend, EventLoops loops) {
        return new RelayAcceptHandler(name, new BackendPool(List.of(backend), Balance.ROUND_ROBIN),
                RelaySettings.defaults(), loops, RelayObserver.NONE);
    }
}
