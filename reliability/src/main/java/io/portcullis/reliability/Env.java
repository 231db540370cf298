package io.portcullis.reliability;

import java.nio.file.Path;

/**
 * What a scenario gets: the profile, the gateway jar, a work directory and the class path of this module
 * (to start a backend as a process of its own).
 */
record Env(Profile profile, Path jar, Path work, String classPath) {

    /** Ports below Linux's ephemeral range, from a base the caller may move; each call gives a new one. */
    private static int nextPort = Integer.getInteger("reliability.basePort", 27500);

    static synchronized int port() {
        while (true) {
            int p = nextPort++;
            try (java.net.ServerSocket s = new java.net.ServerSocket(p, 1, Net.LOOPBACK)) {
                return p;
            } catch (java.io.IOException busy) {
                // taken: the next
            }
        }
    }
}
