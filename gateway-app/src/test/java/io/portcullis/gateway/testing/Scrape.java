package io.portcullis.gateway.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;

/**
 * One scrape of {@code /actuator/prometheus} (the text exposition format), parsed: each sample keyed by its series,
 * written {@code name{a="x",b="y"}} with the labels sorted by name ({@code name} alone without labels), so that a
 * test can look a series up by its text. Comments and timestamps are dropped. Immutable; any thread.
 *
 * <pre>{@code
 * Scrape s = replica.scrape();
 * s.value("portcullis_cluster_store_up")                                  // OptionalDouble
 * s.value("portcullis_cluster_store_failures_total", "reason", "timeout") // exactly these labels
 * s.sum("portcullis_connections_total", "listener", "plain")              // every series with these labels
 * }</pre>
 */
public final class Scrape {

    /** One sample: the meter's name, its labels (sorted by name) and its value. */
    public record Sample(String name, Map<String, String> labels, double value) {

        /** Whether every label of {@code wanted} is among this sample's, with the same value. */
        public boolean hasLabels(Map<String, String> wanted) {
            return labels.entrySet().containsAll(wanted.entrySet());
        }
    }

    private final List<Sample> list;
    private final Map<String, Double> samples;

    private Scrape(List<Sample> list) {
        this.list = List.copyOf(list);
        Map<String, Double> map = new LinkedHashMap<>();
        for (Sample s : list) {
            map.put(series(s.name(), s.labels()), s.value());
        }
        this.samples = Collections.unmodifiableMap(map);
    }

    /** Parses a text exposition; a line that does not parse fails with its number and text. */
    public static Scrape parse(String text) {
        List<Sample> samples = new ArrayList<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                parseLine(line, samples);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("prometheus text line " + (i + 1) + ": " + e.getMessage()
                        + ": " + line, e);
            }
        }
        return new Scrape(samples);
    }

    private static void parseLine(String line, List<Sample> samples) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = line.substring(0, i);
        TreeMap<String, String> labels = new TreeMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String label = line.substring(i, eq).strip();
                if (line.charAt(eq + 1) != '"') {
                    throw new IllegalArgumentException("label " + label + " without a quoted value");
                }
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                for (char c = line.charAt(j); c != '"'; c = line.charAt(++j)) {
                    if (c == '\\') {
                        char escaped = line.charAt(++j);
                        value.append(escaped == 'n' ? '\n' : escaped);
                    } else {
                        value.append(c);
                    }
                }
                labels.put(label, value.toString());
                i = j + 1;
                if (line.charAt(i) == ',') {
                    i++;
                }
            }
            i++;
        }
        String[] rest = line.substring(i).strip().split("\\s+");
        samples.add(new Sample(name, Collections.unmodifiableMap(labels), parseValue(rest[0])));
    }

    private static double parseValue(String text) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(text);
        };
    }

    /** The key of a series: {@code name{a="x",b="y"}}, labels sorted; {@code name} without labels. */
    public static String series(String name, Map<String, String> labels) {
        if (labels.isEmpty()) {
            return name;
        }
        StringBuilder key = new StringBuilder(name).append('{');
        new TreeMap<>(labels).forEach((k, v) -> key.append(k).append("=\"")
                .append(v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append("\","));
        key.setLength(key.length() - 1);
        return key.append('}').toString();
    }

    /** Every sample: series key ({@link #series}) to value, in the order scraped. */
    public Map<String, Double> samples() {
        return samples;
    }

    /** Every sample of {@code name}, with its labels. */
    public List<Sample> samples(String name) {
        return list.stream().filter(s -> s.name().equals(name)).toList();
    }

    /** The series {@code name} with exactly the labels given as name, value, name, value ...; empty when absent. */
    public OptionalDouble value(String name, String... labelPairs) {
        Double v = samples.get(series(name, pairs(labelPairs)));
        return v == null ? OptionalDouble.empty() : OptionalDouble.of(v);
    }

    /** The sum over every series of {@code name} whose labels include the pairs given (all of them: none given). */
    public double sum(String name, String... labelPairs) {
        Map<String, String> want = pairs(labelPairs);
        double sum = 0;
        for (Sample s : list) {
            if (s.name().equals(name) && s.hasLabels(want)) {
                sum += s.value();
            }
        }
        return sum;
    }

    /** Whether any series of {@code name} is present. */
    public boolean has(String name) {
        return list.stream().anyMatch(s -> s.name().equals(name));
    }

    private static Map<String, String> pairs(String... labelPairs) {
        if (labelPairs.length % 2 != 0) {
            throw new IllegalArgumentException("labels come in pairs: name, value");
        }
        Map<String, String> labels = new TreeMap<>();
        for (int i = 0; i < labelPairs.length; i += 2) {
            labels.put(labelPairs[i], labelPairs[i + 1]);
        }
        return labels;
    }

    @Override
    public String toString() {
        return samples.size() + " samples";
    }
}
