package io.portcullis.gateway.config;

import io.portcullis.core.InspectAction;

/** The actions that end an inspection: what {@code on-timeout} and {@code on-overflow} accept. */
public enum FinalAction {
    ACCEPT, REJECT;

    public InspectAction toInspectAction() {
        return this == ACCEPT ? InspectAction.ACCEPT : InspectAction.REJECT;
    }
}
