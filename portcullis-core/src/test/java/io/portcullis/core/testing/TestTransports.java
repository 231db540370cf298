package io.portcullis.core.testing;

import io.portcullis.core.EventLoops;
import io.portcullis.core.Transport;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Event loops on every transport this machine can run, for tests that must pass on each: io_uring and epoll
 * where the kernel allows them, NIO always. A transport the machine lacks is skipped, not faked.
 */
public final class TestTransports implements AutoCloseable {

    private final Map<Transport, EventLoops> loops = new EnumMap<>(Transport.class);

    /** Opens {@code threads} I/O threads on each available transport. */
    public TestTransports(int threads) {
        for (Transport t : Transport.values()) {
            if (t.unavailability().isEmpty()) {
                loops.put(t, EventLoops.create(t, threads));
            }
        }
    }

    /**
     * Transport labels rather than loops, for {@code @MethodSource}: JUnit closes AutoCloseable arguments.
     * {@code -Dportcullis.test.transports=io_uring,nio} narrows the set when chasing a failure on one.
     */
    public static Stream<String> labels() {
        String only = System.getProperty("portcullis.test.transports", "");
        return Stream.of(Transport.values()).filter(t -> t.unavailability().isEmpty()).map(Transport::label)
                .filter(l -> only.isBlank() || Arrays.asList(only.split(",")).contains(l));
    }

    public EventLoops loops(String label) {
        EventLoops l = loops.get(Transport.parse(label));
        if (l == null) {
            throw new IllegalStateException("transport " + label + " is unavailable here");
        }
        return l;
    }

    /** The loops of the transport the gateway runs on by default here. */
    public EventLoops auto() {
        return loops.get(Transport.auto());
    }

    @Override
    public void close() {
        loops.values().forEach(EventLoops::close);
    }
}
