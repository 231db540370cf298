package io.portcullis.gateway.config;

import io.portcullis.gateway.policy.PolicyChecks;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyError;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.PolicyOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.springframework.core.io.Resource;

/** Reads the policy named by {@code portcullis.rules} and puts it through the gateway's {@link PolicyChecks}. */
public final class PolicyFiles {

    private PolicyFiles() {
    }

    /** A policy with no listener section, for a gateway whose listeners never inspect. */
    public static Policy empty() {
        try {
            return Policy.parse("listeners: {}\n", "(no rules file)");
        } catch (PolicyException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Loads the policy and checks it against the configuration: what a start, a reload and {@code validate} do.
     * A file resource is read by its path as given (errors name that path, so give an absolute one).
     *
     * @throws PolicyLoadException with every error, file:line:column first
     */
    public static Policy load(Resource resource, PolicyOptions options, PolicyChecks checks) {
        Policy policy;
        try {
            if (resource.isFile()) {
                policy = Policy.load(resource.getFile().toPath(), options);
            } else {
                try (InputStream in = resource.getInputStream()) {
                    policy = Policy.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), resource.getDescription(), options);
                }
            }
        } catch (PolicyException e) {
            throw new PolicyLoadException(e.errors().stream().map(PolicyError::toString).toList(), e);
        } catch (IOException e) {
            throw new PolicyLoadException(List.of(resource.getDescription() + ": cannot read the policy file: " + e.getMessage()), e);
        }
        List<String> problems = checks.problems(policy);
        if (!problems.isEmpty()) {
            throw new PolicyLoadException(problems);
        }
        return policy;
    }
}
