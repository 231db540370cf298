package io.portcullis.core;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * Validated settings of one {@link Listener}.
 *
 * @param name              used in rules, meters and logs
 * @param bind              address and port to listen on (port 0: an ephemeral port)
 * @param conditionalAccept false: every connection is accepted at once, never inspected
 * @param inspectTimeout    deadline of a pended inspection
 * @param onTimeout         applied when the deadline passes: ACCEPT or REJECT
 * @param maxPending        pended inspections held at once
 * @param onOverflow        applied to a PEND past {@code maxPending}: ACCEPT or REJECT
 * @param holdBytes         client bytes kept while pended; reading pauses past it (the client's TCP window fills)
 * @param acceptBacklog     the kernel's accept queue length
 * @param peek              what is read before inspection: a PROXY-protocol header, the TLS ClientHello
 */
public record ListenerSettings(
        String name,
        InetSocketAddress bind,
        boolean conditionalAccept,
        Duration inspectTimeout,
        InspectAction onTimeout,
        int maxPending,
        InspectAction onOverflow,
        int holdBytes,
        int acceptBacklog,
        PeekSettings peek) {

    /** The deadline of a pended inspection unless set. */
    public static final Duration DEFAULT_INSPECT_TIMEOUT = Duration.ofSeconds(5);
    /** Pended inspections held at once unless set. */
    public static final int DEFAULT_MAX_PENDING = 10_000;
    /** Bytes held per pended connection unless set. */
    public static final int DEFAULT_HOLD_BYTES = 16 * 1024;
    /** The kernel's accept queue length unless set. */
    public static final int DEFAULT_ACCEPT_BACKLOG = 1024;

    /**
     * Checks every setting.
     *
     * @param name              the listener's name
     * @param bind              where it listens
     * @param conditionalAccept whether it inspects
     * @param inspectTimeout    a pend's deadline, positive
     * @param onTimeout         ACCEPT or REJECT
     * @param maxPending        0 or more
     * @param onOverflow        ACCEPT or REJECT
     * @param holdBytes         0 or more
     * @param acceptBacklog     positive
     * @param peek              what is peeked; {@link PeekSettings#NONE} for nothing
     * @throws IllegalArgumentException naming the listener and the setting out of range
     */
    public ListenerSettings {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(inspectTimeout, "inspectTimeout");
        Objects.requireNonNull(peek, "peek");
        if (name.isBlank()) {
            throw new IllegalArgumentException("listener name must not be blank");
        }
        if (inspectTimeout.isNegative() || inspectTimeout.isZero()) {
            throw new IllegalArgumentException("inspect timeout of listener '" + name + "' must be positive: " + inspectTimeout);
        }
        requireFinal(onTimeout, "on-timeout", name);
        requireFinal(onOverflow, "on-overflow", name);
        if (maxPending < 0) {
            throw new IllegalArgumentException("max-pending of listener '" + name + "' must be >= 0: " + maxPending);
        }
        if (holdBytes < 0) {
            throw new IllegalArgumentException("hold-bytes of listener '" + name + "' must be >= 0: " + holdBytes);
        }
        if (acceptBacklog <= 0) {
            throw new IllegalArgumentException("accept backlog of listener '" + name + "' must be positive: " + acceptBacklog);
        }
    }

    /**
     * Settings with the defaults of the contract.
     *
     * @param name the listener's name
     * @param bind where it listens
     * @return the settings
     */
    public static ListenerSettings defaults(String name, InetSocketAddress bind) {
        return new ListenerSettings(name, bind, true, DEFAULT_INSPECT_TIMEOUT, InspectAction.REJECT,
                DEFAULT_MAX_PENDING, InspectAction.REJECT, DEFAULT_HOLD_BYTES, DEFAULT_ACCEPT_BACKLOG, PeekSettings.NONE);
    }

    private static void requireFinal(InspectAction action, String key, String name) {
        if (action != InspectAction.ACCEPT && action != InspectAction.REJECT) {
            throw new IllegalArgumentException(key + " of listener '" + name + "' must be accept or reject: " + action);
        }
    }
}
