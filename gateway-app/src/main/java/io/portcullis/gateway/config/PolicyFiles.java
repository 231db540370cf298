package io.portcullis.gateway.config;

import io.portcullis.gateway.decision.DecisionNameCheck;
import io.portcullis.gateway.policy.PolicyChecks;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyException;
import io.portcullis.policy.PolicyOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import org.springframework.core.io.Resource;

/** Reads the policy named by {@code portcullis.rules} and checks it covers the inspecting listeners. */
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
     * Loads and validates the policy.
     *
     * @param inspecting names of the listeners with conditional accept on: each needs a section
     * @throws PolicyLoadException with every error, file:line:column first
     */
    public static Policy load(Resource resource, Collection<String> inspecting, PolicyOptions options) {
        return load(resource, inspecting, options, DecisionNameCheck.none());
    }

    /**
     * As {@link #load(Resource, Collection, PolicyOptions)}, and checks that every decision service the
     * policy's pend rules name is configured.
     *
     * @throws PolicyLoadException naming each rule that asks for a service that is not configured
     */
    public static Policy load(Resource resource, Collection<String> inspecting, PolicyOptions options,
                              DecisionNameCheck decisionNames) {
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
            throw new PolicyLoadException("The policy file was refused:\n" + e.getMessage(), e);
        } catch (IOException e) {
            throw new PolicyLoadException("Cannot read the policy file " + resource.getDescription() + ": " + e.getMessage(), e);
        }
        List<String> problems = PolicyChecks.problems(policy, inspecting, decisionNames);
        if (!problems.isEmpty()) {
            throw new PolicyLoadException("The policy file was refused:\n" + String.join("\n", problems));
        }
        return policy;
    }
}
