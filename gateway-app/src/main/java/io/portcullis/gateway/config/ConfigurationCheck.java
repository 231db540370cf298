package io.portcullis.gateway.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;

/**
 * Binds and validates {@code portcullis.*} as a start does — the same sources (the built-in defaults, the
 * environment), the same records, converters and validator, so the same errors — in a Spring context that
 * holds nothing else: no port is bound, no thread started. For the {@code validate} command.
 */
public final class ConfigurationCheck {

    private ConfigurationCheck() {
    }

    /**
     * The bound configuration, or every error one a line.
     *
     * @param properties present when the configuration bound and validated
     * @param errors     empty when it did
     */
    public record Result(Optional<PortcullisProperties> properties, List<String> errors) {
    }

    /**
     * Only the configuration properties and their converter: what a start binds before it builds anything.
     * Not a {@code @Configuration}, so that the application's component scan leaves it out.
     */
    @EnableConfigurationProperties(PortcullisProperties.class)
    @Import({HostAndPortConverter.class, UnknownKeys.class})
    static class PropertiesOnly {
    }

    /**
     * Binds the configuration a start would read, with {@code files} on top (as
     * {@code --spring.config.additional-location} does at start). Any thread; takes about a second.
     *
     * @param files application.yml files, or directories holding one; each must exist
     */
    public static Result bind(List<Path> files) {
        List<String> args = new ArrayList<>();
        if (!files.isEmpty()) {
            args.add("--spring.config.import=" + files.stream()
                    .map(f -> "file:" + PolicySource.absolute(f) + (Files.isDirectory(f) ? "/" : ""))
                    .collect(Collectors.joining(",")));
        }
        // The output is the command's own: Spring's logging stays quiet, a failure comes back as lines.
        args.add("--logging.level.root=off");
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(PropertiesOnly.class)
                .web(WebApplicationType.NONE)
                .bannerMode(Banner.Mode.OFF)
                .logStartupInfo(false)
                .registerShutdownHook(false)
                .run(args.toArray(String[]::new))) {
            return new Result(Optional.of(context.getBean(PortcullisProperties.class)), List.of());
        } catch (RuntimeException e) {
            return new Result(Optional.empty(), ConfigurationErrors.of(e).orElseGet(() -> List.of(message(e))));
        }
    }

    private static String message(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.toString();
    }
}
