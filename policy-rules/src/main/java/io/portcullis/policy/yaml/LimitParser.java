package io.portcullis.policy.yaml;

import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.limit.LimitScope;
import io.portcullis.policy.limit.LimitSettings;
import io.portcullis.policy.limit.OnStoreFailure;
import io.portcullis.policy.limit.RateLimit;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The limiter keys of a rule: {@code rate-limit: {key, rate, burst, scope, on-store-failure}} and
 * {@code concurrency-limit: {key, max, scope, on-store-failure}}. {@code key} defaults to {@code source-ip};
 * {@code burst} defaults to the rate's N (one period's worth); {@code scope} ({@code local | cluster}) to
 * {@code local}; {@code on-store-failure} ({@code local | accept | reject}) to {@code local}, and is allowed with
 * {@code scope: cluster} only.
 */
final class LimitParser {

    static final String KEY = "key";
    static final String RATE = "rate";
    static final String BURST = "burst";
    static final String MAX = "max";
    static final String SCOPE = "scope";
    static final String ON_STORE_FAILURE = "on-store-failure";

    private static final Pattern RATE_TEXT = Pattern.compile("(\\d{1,9})\\s*/\\s*(s|m)");
    private static final Pattern COUNT = Pattern.compile("\\d{1,9}");

    private static final List<String> SCOPES = Arrays.stream(LimitScope.values()).map(LimitScope::label).toList();
    private static final List<String> STORE_FAILURES =
            Arrays.stream(OnStoreFailure.values()).map(OnStoreFailure::label).toList();

    private LimitParser() {
    }

    static Optional<LimitSettings> rate(Node value, Problems problems) {
        Optional<MappingNode> mapping = Nodes.mapping(value, problems);
        if (mapping.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        Map<String, Nodes.Entry> entries = Nodes.entries(mapping.get(), Section.RATE_LIMIT, problems);
        Optional<LimitKey> key = key(entries, problems);
        Nodes.Entry rateEntry = entries.get(RATE);
        long tokens = 0;
        Duration period = Duration.ofSeconds(1);
        if (rateEntry == null) {
            problems.add(value, "missing required key 'rate' in rate-limit (e.g. rate: 10/s)");
        } else {
            Optional<String> text = Nodes.string(rateEntry.value(), problems);
            if (text.isPresent()) {
                Matcher m = RATE_TEXT.matcher(text.get().strip());
                if (m.matches() && Long.parseLong(m.group(1)) > 0) {
                    tokens = Long.parseLong(m.group(1));
                    period = m.group(2).equals("s") ? Duration.ofSeconds(1) : Duration.ofMinutes(1);
                } else {
                    problems.add(rateEntry.value(), "bad rate '" + text.get() + "' (expected N/s or N/m, e.g. 10/s,"
                            + " with N at least 1)");
                }
            }
        }
        long burst = tokens;
        if (entries.containsKey(BURST)) {
            burst = count(entries.get(BURST).value(), BURST, problems);
        }
        Scope scope = scope(entries, RateLimit.KEY, problems);
        if (problems.count() != before || key.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new RateLimit(key.get(), tokens, period, burst, scope.scope(), scope.onStoreFailure()));
    }

    static Optional<LimitSettings> concurrency(Node value, Problems problems) {
        Optional<MappingNode> mapping = Nodes.mapping(value, problems);
        if (mapping.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        Map<String, Nodes.Entry> entries = Nodes.entries(mapping.get(), Section.CONCURRENCY_LIMIT, problems);
        Optional<LimitKey> key = key(entries, problems);
        long max = 0;
        if (!entries.containsKey(MAX)) {
            problems.add(value, "missing required key 'max' in concurrency-limit (e.g. max: 20)");
        } else {
            max = count(entries.get(MAX).value(), MAX, problems);
        }
        Scope scope = scope(entries, ConcurrencyLimit.KEY, problems);
        if (problems.count() != before || key.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ConcurrencyLimit(key.get(), (int) max, scope.scope(), scope.onStoreFailure()));
    }

    private static Optional<LimitKey> key(Map<String, Nodes.Entry> entries, Problems problems) {
        Nodes.Entry entry = entries.get(KEY);
        if (entry == null) {
            return Optional.of(LimitKey.SOURCE_IP);
        }
        Optional<String> text = Nodes.string(entry.value(), problems);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Optional<LimitKey> key = LimitKey.parse(text.get().strip());
        if (key.isEmpty()) {
            problems.add(entry.value(), "bad limiter key '" + text.get() + "' (expected source-ip, source-cidr/N"
                    + " with N a prefix length such as 24 or 64, or listener)");
        }
        return key;
    }

    /** A limiter's {@code scope} and {@code on-store-failure}, both {@code local} unless written. */
    private record Scope(LimitScope scope, OnStoreFailure onStoreFailure) {
    }

    /**
     * {@code scope} and {@code on-store-failure} of the limiter written under {@code ruleKey}; problems reported
     * (a value that is none of the choices, with the nearest as a suggestion; {@code on-store-failure} without
     * {@code scope: cluster}). What is wrong reads as {@code local}.
     */
    private static Scope scope(Map<String, Nodes.Entry> entries, String ruleKey, Problems problems) {
        LimitScope scope = LimitScope.LOCAL;
        boolean scopeKnown = true;
        Nodes.Entry scopeEntry = entries.get(SCOPE);
        if (scopeEntry != null) {
            Optional<String> label = choice(scopeEntry.value(), SCOPE, SCOPES, problems);
            scopeKnown = label.isPresent();
            scope = label.map(l -> LimitScope.valueOf(l.toUpperCase(Locale.ROOT))).orElse(LimitScope.LOCAL);
        }
        OnStoreFailure onStoreFailure = OnStoreFailure.LOCAL;
        Nodes.Entry failureEntry = entries.get(ON_STORE_FAILURE);
        if (failureEntry != null) {
            if (scopeKnown && scope != LimitScope.CLUSTER) {
                problems.add(failureEntry.key(), "'" + ON_STORE_FAILURE + "' applies to 'scope: cluster' only (this "
                        + ruleKey + " has " + (scopeEntry == null ? "no scope, so scope: local" : "scope: local")
                        + "); add scope: cluster, or remove it");
            } else {
                onStoreFailure = choice(failureEntry.value(), ON_STORE_FAILURE, STORE_FAILURES, problems)
                        .map(l -> OnStoreFailure.valueOf(l.toUpperCase(Locale.ROOT)))
                        .orElse(OnStoreFailure.LOCAL);
            }
        }
        return new Scope(scope, onStoreFailure);
    }

    /** One of {@code choices}, exactly; otherwise a problem suggesting the nearest choice. */
    private static Optional<String> choice(Node node, String what, List<String> choices, Problems problems) {
        Optional<String> text = Nodes.string(node, problems);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String written = text.get();
        if (choices.contains(written)) {
            return Optional.of(written);
        }
        String expected = "expected " + String.join(", ", choices.subList(0, choices.size() - 1)) + " or "
                + choices.get(choices.size() - 1);
        problems.add(node, "unknown " + what + " '" + text.get() + "' ("
                + Suggestions.nearest(written, choices).map(near -> "did you mean '" + near + "'?").orElse(expected)
                + ")");
        return Optional.empty();
    }

    /** A whole number of at least 1; 0 after reporting a problem. */
    private static long count(Node node, String what, Problems problems) {
        Optional<String> text = Nodes.string(node, problems);
        if (text.isEmpty()) {
            return 0;
        }
        String digits = text.get().strip();
        if (COUNT.matcher(digits).matches() && Long.parseLong(digits) >= 1) {
            return Long.parseLong(digits);
        }
        problems.add(node, "bad " + what + " '" + text.get() + "' (expected a whole number of at least 1)");
        return 0;
    }
}
