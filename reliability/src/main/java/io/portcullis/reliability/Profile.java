package io.portcullis.reliability;

/**
 * How hard the suite pushes: {@code short} for CI (a few minutes), {@code long} for a run by hand.
 *
 * @param name         short or long
 * @param connections  concurrent relayed connections in the lossless-relay scenario
 * @param sources      distinct client source addresses (127.0.0.2 upwards)
 * @param maxPayload   largest payload of one connection, bytes (sizes are log-uniform from 1 byte)
 * @param killRounds   backend SIGKILL rounds in the backend-failure scenario
 * @param pended       clients pended at once, then gone, in the abort-storm scenario
 * @param reloads      policy reloads (valid and broken alternating) in the reload-under-load scenario
 * @param reloadRate   new connections a second during those reloads
 * @param drainRelays  echo relays in flight at SIGTERM in the SIGTERM-under-load scenario
 * @param drainPended  clients pended at SIGTERM there (half on-timeout accept, half reject)
 * @param shutdownGraceSeconds the gateway's {@code shutdown-grace} there
 */
record Profile(String name, int connections, int sources, long maxPayload, int killRounds, int pended, int reloads,
               int reloadRate, int drainRelays, int drainPended, int shutdownGraceSeconds) {

    static Profile of(String name) {
        switch (name) {
            case "short":
                return new Profile("short", 200, 20, 4L << 20, 3, 2000, 20, 300, 20, 200, 10);
            case "long":
                return new Profile("long", 2000, 100, 64L << 20, 10, 10_000, 100, 1000, 200, 2000, 20);
            default:
                throw new IllegalArgumentException("unknown profile '" + name + "' (expected short or long)");
        }
    }
}
