package io.portcullis.gateway.config;

import io.portcullis.gateway.config.PortcullisProperties.ListenerProperties;
import io.portcullis.gateway.decision.DecisionNameCheck;
import io.portcullis.gateway.policy.PolicyChecks;
import io.portcullis.gateway.policy.PolicyChecks.ListenerFacts;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.util.ResourceUtils;

/**
 * Where the policy comes from and what it must fit, derived from {@code portcullis.*} in this one place for a
 * start, its reloads and the {@code validate} command, so that the three check the same.
 *
 * @param resource   the policy; empty when no listener inspects and no rules file is set
 * @param configured whether {@code portcullis.rules} named it (the demo's built-in policy is not watched)
 * @param checks     what the policy must fit: the configured listeners and decision services
 */
public record PolicySource(Optional<Resource> resource, boolean configured, PolicyChecks checks) {

    static final String DEMO_RULES = "classpath:demo/rules.yaml";

    public PolicySource {
        Objects.requireNonNull(resource, "resource");
        Objects.requireNonNull(checks, "checks");
    }

    /** The policy a gateway with {@code properties} loads at start and reloads. */
    public static PolicySource of(PortcullisProperties properties) {
        boolean demo = properties.listeners().isEmpty();
        List<ListenerFacts> listeners = demo ? List.of(new ListenerFacts("demo", true, false, false))
                : properties.listeners().stream().map(PolicySource::facts).toList();
        PolicyChecks checks = PolicyChecks.of(listeners, DecisionNameCheck.of(properties.decisionServices().keySet()),
                properties.cluster().enabled());
        Optional<Resource> resource = properties.rulesLocation()
                .or(() -> demo ? Optional.of(DEMO_RULES) : Optional.empty())
                .map(PolicySource::resolve);
        return new PolicySource(resource, properties.rulesLocation().isPresent(), checks);
    }

    private static ListenerFacts facts(ListenerProperties listener) {
        return new ListenerFacts(listener.name(), listener.conditionalAccept(), listener.peeksTls(),
                listener.readsProxyHeader(), listener.routes());
    }

    /** A rules file read without a configuration, with {@link PolicyChecks#standalone()}: {@code validate} without listeners. */
    public static PolicySource standalone(String location) {
        return new PolicySource(Optional.of(resolve(location)), true, PolicyChecks.standalone());
    }

    /** The same checks on another file: {@code validate}'s rules file in place of {@code portcullis.rules}. */
    public PolicySource withRules(String location) {
        return new PolicySource(Optional.of(resolve(location)), true, checks);
    }

    /**
     * A {@code portcullis.rules} value as a resource: {@code classpath:...} and URLs as Spring reads them, a file
     * ({@code file:...} or a plain path) by its absolute path, a relative one from the working directory, so that
     * errors and logs show the file that was read.
     */
    static Resource resolve(String location) {
        String trimmed = location.strip();
        if (!ResourceUtils.isUrl(trimmed)) {
            return new FileSystemResource(absolute(Path.of(trimmed)));
        }
        Resource resource = new DefaultResourceLoader().getResource(trimmed);
        if (!resource.isFile()) {
            return resource;
        }
        try {
            return new FileSystemResource(absolute(resource.getFile().toPath()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Absolute, without "." elements; ".." stays, since after a symbolic link it need not lead where the text says. */
    static Path absolute(Path path) {
        Path absolute = path.toAbsolutePath();
        Path result = absolute.getRoot();
        for (Path element : absolute) {
            if (!element.toString().equals(".")) {
                result = result == null ? element : result.resolve(element);
            }
        }
        return result == null ? absolute : result;
    }

    /** The rules file's path when the policy is a file (then it is watched for changes). */
    public Optional<Path> file() {
        return resource.filter(Resource::isFile).map(r -> {
            try {
                return r.getFile().toPath();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** The policy's absolute path, or what the resource calls itself, for messages and logs. */
    public String name() {
        return file().map(Path::toString).orElseGet(() -> resource.map(Resource::getDescription).orElse("(no rules file)"));
    }

    /**
     * Reads and checks the policy; a policy with no listener section when there is no file.
     *
     * @throws PolicyLoadException with every error, file:line:column first
     */
    public Policy load(PolicyOptions options) {
        return resource.map(r -> PolicyFiles.load(r, options, checks)).orElseGet(PolicyFiles::empty);
    }
}
