package io.portcullis.reliability;

/**
 * How hard the suite pushes: {@code short} for CI (a few minutes), {@code long} for a run by hand.
 *
 * @param name            short or long
 * @param connections     concurrent relayed connections in the lossless-relay scenario
 * @param sources         distinct client source addresses (127.0.0.2 upwards)
 * @param maxPayload      largest payload of one connection, bytes (sizes are log-uniform from 1 byte)
 * @param killRounds      backend SIGKILL rounds in the backend-failure scenario
 * @param pended          clients pended at once, then gone, in the abort-storm scenario
 * @param slowStreams     streams with a stalled reader on each side, and streams cut by a backend reset
 * @param slowLength      bytes each slow-reader stream carries
 * @param flood           connection attempts in one burst in the flood scenario
 * @param hostile         clients of each kind in the slow-and-hostile-clients scenario
 * @param decisionClients clients per listener in each phase of the decision-faults scenario
 * @param reloads         policy reloads (valid and broken alternating) in the reload-under-load scenario
 * @param reloadRate      new connections a second during those reloads
 * @param drainRelays     echo relays in flight at SIGTERM in the SIGTERM-under-load scenario
 * @param drainPended     clients pended at SIGTERM there (half on-timeout accept, half reject)
 * @param shutdownGraceSeconds the gateway's {@code shutdown-grace} there
 * @param soakSeconds     how long the soak's steady load runs, after its warm-up
 * @param soakClients     soak clients in a loop on the relay (half as many more on the pended listener)
 * @param soakMaxPayload  largest stream of a soak client, bytes
 */
record Profile(String name, int connections, int sources, long maxPayload, int killRounds, int pended,
        int slowStreams, long slowLength, int flood, int hostile, int decisionClients, int reloads, int reloadRate,
        int drainRelays, int drainPended, int shutdownGraceSeconds, int soakSeconds, int soakClients,
        long soakMaxPayload) {

    static Profile of(String name) {
        switch (name) {
            case "short":
                return new Profile("short", 200, 20, 4L << 20, 3, 2000, 20, 16L << 20, 4000, 10, 20, 20, 300, 20,
                        200, 10, 40, 8, 1L << 20);
            case "long":
                return new Profile("long", 2000, 100, 64L << 20, 10, 10_000, 200, 64L << 20, 20_000, 100, 200, 100,
                        1000, 200, 2000, 20, 1800, 16, 4L << 20);
            default:
                throw new IllegalArgumentException("unknown profile '" + name + "' (expected short or long)");
        }
    }
}
