package io.portcullis.gateway.config;

import io.portcullis.gateway.policy.PolicyReloader;
import java.util.Optional;

/** The reloader of the policy file, absent when the policy is not read from a file (the demo's). */
public record PolicyWatch(Optional<PolicyReloader> reloader) implements AutoCloseable {

    @Override
    public void close() {
        reloader.ifPresent(PolicyReloader::close);
    }
}
