package io.portcullis.policy.yaml;

import org.yaml.snakeyaml.nodes.Node;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as {@code rules.yaml} writes them: a whole number and a unit, {@code 300ms}, {@code 2s}, {@code 1m}, {@code 1h}. */
final class Durations {

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

    private Durations() {
    }

    /** A positive duration, or empty after reporting what is wrong at the node. */
    static Optional<Duration> parse(Node node, Problems problems) {
        Optional<String> text = Nodes.string(node, problems);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Matcher m = DURATION.matcher(text.get().strip());
        if (!m.matches()) {
            problems.add(node, "bad duration '" + text.get() + "' (expected e.g. 300ms, 2s, 1m)");
            return Optional.empty();
        }
        long amount = Long.parseLong(m.group(1));
        if (amount == 0) {
            problems.add(node, "bad duration '" + text.get() + "' (expected more than 0, e.g. 300ms, 2s, 1m)");
            return Optional.empty();
        }
        return Optional.of(switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            default -> Duration.ofHours(amount);
        });
    }
}
