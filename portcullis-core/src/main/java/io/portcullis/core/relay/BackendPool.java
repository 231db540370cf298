package io.portcullis.core.relay;

import io.portcullis.core.InspectRequest;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The backends of one listener, how to pick among them, and how many connections each holds now.
 *
 * <p>A connection asks {@link #first} once, then tries {@link #attempt}{@code (first, 0)},
 * {@code (first, 1)}, ... : the chosen backend, then the others in ring order, so failover needs no
 * list per connection. Backends are addressed by index; {@link #opened} and {@link #closed} keep the
 * counters least-connections reads. Backends marked down by the health check are skipped while any
 * backend is up; when none is, all are tried again (as Envoy's panic mode does), since a check that is
 * wrong must not take the whole listener down. All methods are for any thread.
 */
public final class BackendPool {

    private final InetSocketAddress[] backends;
    private final String[] labels;
    private final Balance balance;
    private final AtomicIntegerArray active;
    /** 1 up, 0 down; every backend starts up, until a health check says otherwise. */
    private final AtomicIntegerArray up;
    private final AtomicInteger upCount;
    private final AtomicInteger rotation = new AtomicInteger();

    /**
     * @param backends at least one; IP literals or unresolved host names (resolved when connecting)
     * @param balance  how the first backend of a connection is chosen
     * @throws IllegalArgumentException for an empty list, a null or a repeated backend
     */
    public BackendPool(List<InetSocketAddress> backends, Balance balance) {
        Objects.requireNonNull(backends, "backends");
        this.balance = Objects.requireNonNull(balance, "balance");
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("a backend pool needs at least one backend");
        }
        this.backends = backends.toArray(new InetSocketAddress[0]);
        this.labels = new String[this.backends.length];
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < this.backends.length; i++) {
            InetSocketAddress b = this.backends[i];
            if (b == null) {
                throw new IllegalArgumentException("backend " + i + " is null");
            }
            labels[i] = label(b);
            if (!seen.add(labels[i])) {
                throw new IllegalArgumentException("backend " + labels[i] + " is listed twice");
            }
        }
        this.active = new AtomicIntegerArray(this.backends.length);
        this.up = new AtomicIntegerArray(this.backends.length);
        for (int i = 0; i < this.backends.length; i++) {
            up.set(i, 1);
        }
        this.upCount = new AtomicInteger(this.backends.length);
    }

    /**
     * Whether the health check last found a backend up.
     *
     * @param index the backend's position in the pool
     * @return true when up (every backend starts up)
     */
    public boolean isUp(int index) {
        return up.get(index) == 1;
    }

    /**
     * Backends up now.
     *
     * @return the count
     */
    public int upCount() {
        return upCount.get();
    }

    /** Records the health check's finding; returns true when it changed. */
    boolean markUp(int index, boolean isUp) {
        int was = up.getAndSet(index, isUp ? 1 : 0);
        if (was == (isUp ? 1 : 0)) {
            return false;
        }
        upCount.addAndGet(isUp ? 1 : -1);
        return true;
    }

    private boolean usable(int index, boolean panic) {
        return panic || up.get(index) == 1;
    }

    /**
     * How the first backend of a connection is chosen.
     *
     * @return the balance
     */
    public Balance balance() {
        return balance;
    }

    /**
     * The number of backends.
     *
     * @return the count
     */
    public int size() {
        return backends.length;
    }

    /**
     * The configured backends.
     *
     * @return them, in order
     */
    public List<InetSocketAddress> backends() {
        return List.of(backends);
    }

    /**
     * One backend.
     *
     * @param index its position in the pool
     * @return its address
     */
    public InetSocketAddress backend(int index) {
        return backends[index];
    }

    /**
     * A backend as configured, for the {@code backend} tag and logs.
     *
     * @param index its position in the pool
     * @return {@code host:port}, or {@code [v6]:port}
     */
    public String label(int index) {
        return labels[index];
    }

    /**
     * Whether some backend is a host name, so connecting needs a resolver.
     *
     * @return true when one is
     */
    public boolean hasUnresolved() {
        for (InetSocketAddress b : backends) {
            if (b.isUnresolved()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Connections open (or connecting) to a backend now.
     *
     * @param index its position in the pool
     * @return the count
     */
    public int active(int index) {
        return active.get(index);
    }

    /** Counts a connection to backend {@code index}; pair it with exactly one {@link #closed}. */
    void opened(int index) {
        active.incrementAndGet(index);
    }

    void closed(int index) {
        active.decrementAndGet(index);
    }

    /**
     * Index of the backend to try first for this connection. Round-robin and least-connections
     * advance a shared rotation; source-hash reads only the request's source address.
     */
    int first(InspectRequest request) {
        int n = backends.length;
        return switch (balance) {
            case ROUND_ROBIN -> Math.floorMod(rotation.getAndIncrement(), n);
            case LEAST_CONNECTIONS -> leastConnections(Math.floorMod(rotation.getAndIncrement(), n));
            case SOURCE_HASH -> Math.floorMod(sourceHash(request.source()), n);
        };
    }

    /**
     * The backend index for attempt {@code attempt} (0 = the first choice): the attempt-th usable backend
     * in ring order from {@code first}, or -1 when all were tried.
     */
    int attempt(int first, int attempt) {
        int n = backends.length;
        boolean panic = upCount.get() == 0;
        int seen = 0;
        for (int i = 0; i < n; i++) {
            int index = (first + i) % n;
            if (usable(index, panic)) {
                if (seen == attempt) {
                    return index;
                }
                seen++;
            }
        }
        return -1;
    }

    /** Scans from a rotating start so that equally loaded backends take turns. */
    private int leastConnections(int start) {
        int n = backends.length;
        boolean panic = upCount.get() == 0;
        int best = start;
        int bestActive = Integer.MAX_VALUE;
        for (int i = 0; i < n && bestActive > 0; i++) {
            int candidate = (start + i) % n;
            if (!usable(candidate, panic)) {
                continue;
            }
            int a = active.get(candidate);
            if (a < bestActive) {
                best = candidate;
                bestActive = a;
            }
        }
        return best;
    }

    /**
     * FNV-1a over the address bytes, then MurmurHash3's finaliser so that neighbouring addresses spread.
     * Fixed by this code, not by the JDK, so a client keeps its backend across restarts; changing it
     * moves every client.
     */
    static int sourceHash(InetSocketAddress source) {
        int h = 0x811c9dc5;
        InetAddress address = source.getAddress();
        if (address != null) {
            for (byte b : address.getAddress()) {
                h = (h ^ (b & 0xff)) * 0x01000193;
            }
        } else {
            String host = source.getHostString();
            for (int i = 0; i < host.length(); i++) {
                h = (h ^ host.charAt(i)) * 0x01000193;
            }
        }
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }

    private static String label(InetSocketAddress b) {
        String host = b.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + b.getPort();
    }

    @Override
    public String toString() {
        return "BackendPool" + List.of(labels) + " " + balance;
    }
}
