package io.portcullis.core.relay;

/**
 * How a {@link BackendPool} picks the first backend for a connection; the others follow in ring order
 * for failover. Spring binds the config values {@code round-robin}, {@code least-connections} and
 * {@code source-hash} to these constants.
 */
public enum Balance {
    /** Each connection starts one backend further on. */
    ROUND_ROBIN,
    /** The backend with the fewest connections open now (connecting included); ties rotate. */
    LEAST_CONNECTIONS,
    /** A hash of the client's IP address: a client keeps its backend while the list stays the same. */
    SOURCE_HASH
}
