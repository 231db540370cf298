package io.portcullis.reliability;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Every child process the suite started; all are killed when the suite ends, however it ends. */
final class Children {

    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(Children::killAll, "reliability-children"));
    }

    private Children() {
    }

    static void add(Process p) {
        LIVE.add(p);
    }

    static void remove(Process p) {
        LIVE.remove(p);
    }

    static void killAll() {
        for (Process p : LIVE) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }
}
