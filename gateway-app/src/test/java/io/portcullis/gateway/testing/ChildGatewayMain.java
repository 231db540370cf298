package io.portcullis.gateway.testing;

import io.portcullis.gateway.PortcullisApplication;

/**
 * The main class of a {@link GatewayProcess}: {@link PortcullisApplication#main} as is, plus one guard — the JVM
 * halts when the test JVM that started it (its parent, {@value #PARENT_PID} system property) is gone, so that a test
 * JVM killed by surefire's timeout or by hand leaves no gateway behind (a shutdown hook does not run on SIGKILL).
 */
public final class ChildGatewayMain {

    /** System property: the pid of the test JVM. */
    public static final String PARENT_PID = "portcullis.test.parent-pid";

    private ChildGatewayMain() {
    }

    public static void main(String[] args) {
        String parent = System.getProperty(PARENT_PID);
        if (parent != null) {
            ProcessHandle.of(Long.parseLong(parent)).ifPresentOrElse(
                    p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(137)),
                    () -> Runtime.getRuntime().halt(137));
        }
        PortcullisApplication.main(args);
    }
}
