package io.portcullis.core.relay;

import java.time.Duration;
import java.util.Objects;

/**
 * Validated settings of the relays of one listener.
 *
 * @param connectTimeout per backend attempt; past it the next backend is tried (1 ms to 5 min)
 * @param idleTimeout    a relay with no byte read from the client and no write to it completed for this
 *                       long is closed; positive
 * @param sendProxy      the PROXY-protocol header written to the backend first, naming the client
 */
public record RelaySettings(Duration connectTimeout, Duration idleTimeout, SendProxy sendProxy) {

    /** Whether, and in which version, the backend is told the client by a PROXY-protocol header. */
    public enum SendProxy {
        /** No header: the backend sees the gateway as its client. */
        OFF,
        /** The text header. */
        V1,
        /** The binary header, with the client's server name (SNI) as the authority TLV when known. */
        V2
    }

    /** Per backend attempt unless set. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /** Idle time that closes a relay unless set. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofMinutes(5);

    /**
     * Checks the bounds.
     *
     * @param connectTimeout 1 ms to 5 min
     * @param idleTimeout    at least 1 ms
     * @param sendProxy      off, v1 or v2
     * @throws IllegalArgumentException for a value out of range
     */
    public RelaySettings {
        Objects.requireNonNull(sendProxy, "sendProxy");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        if (connectTimeout.toMillis() < 1 || connectTimeout.compareTo(MAX_CONNECT_TIMEOUT) > 0) {
            throw new IllegalArgumentException("connect-timeout must be between 1ms and 5m: " + connectTimeout);
        }
        if (idleTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("idle-timeout must be at least 1ms: " + idleTimeout);
        }
    }

    /**
     * Settings that send no PROXY-protocol header.
     *
     * @param connectTimeout 1 ms to 5 min
     * @param idleTimeout    at least 1 ms
     */
    public RelaySettings(Duration connectTimeout, Duration idleTimeout) {
        this(connectTimeout, idleTimeout, SendProxy.OFF);
    }

    /**
     * The contract's defaults: connect-timeout 2s, idle-timeout 1h.
     *
     * @return the settings
     */
    public static RelaySettings defaults() {
        return new RelaySettings(DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT);
    }
}
