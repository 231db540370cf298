package io.portcullis.core;

/** Names of Portcullis handlers in a channel pipeline, in one place. */
public final class PipelineNames {

    /** Holds a connection from its arrival until it is accepted, rejected or aborted. */
    public static final String INSPECTION = "portcullis-inspection";
    /** Relays an accepted connection's bytes to its backend and back. */
    public static final String RELAY = "portcullis-relay";

    private PipelineNames() {
    }
}
