package io.portcullis.gateway;

/**
 * SIGTERM is how a gateway is stopped (Kubernetes, systemd, {@code docker stop}): after its drain it should exit
 * with status 0. The JVM's own handler exits with 143 (128 + 15), which a supervisor counts as a failure
 * (systemd marks the unit failed unless told {@code SuccessExitStatus=143}). The shutdown hooks, and with them
 * the drain, run all the same.
 */
final class TermSignal {

    private TermSignal() {
    }

    /** Makes SIGTERM a {@code System.exit(0)}; false where the signal cannot be handled (-Xrs, no such signal). */
    static boolean exitZero() {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), signal -> System.exit(0));
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            return false;
        }
    }
}
