package io.portcullis.policy.yaml;

import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.TimeMatch;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.time.DateTimeException;
import java.time.DayOfWeek;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code time: {days: [mon-fri, sun], from: "07:00", to: "19:00", zone: Europe/Berlin}} — see
 * {@link TimeMatch}. All keys are optional, but not all four at once: {@code days} defaults to every
 * day, {@code from} to 00:00, {@code to} to 24:00 (end of day), {@code zone} to UTC.
 */
final class TimeParser implements MatchParser {

    static final String DAYS = "days";
    static final String FROM = "from";
    static final String TO = "to";
    static final String ZONE = "zone";

    /** The end of a day, 24:00, in minutes. */
    private static final int END_OF_DAY = 24 * 60;

    private static final Pattern TIME = Pattern.compile("(\\d{1,2}):(\\d{2})");
    private static final List<String> DAY_NAMES = List.of("mon", "tue", "wed", "thu", "fri", "sat", "sun");
    private static final String BAD_DAY_HINT =
            " (expected mon, tue, wed, thu, fri, sat or sun, or a range like mon-fri)";

    @Override
    public String key() {
        return TimeMatch.KEY;
    }

    @Override
    public Optional<Match> parse(Node value, ParseContext context) {
        Problems problems = context.problems();
        Optional<MappingNode> mapping = Nodes.mapping(value, problems);
        if (mapping.isEmpty()) {
            return Optional.empty();
        }
        int before = problems.count();
        Map<String, Nodes.Entry> entries = Nodes.entries(mapping.get(), Section.TIME, problems);
        if (entries.isEmpty()) {
            if (problems.count() == before) {
                problems.add(value, "empty 'time' window: give 'days', 'from' and 'to' (leave 'time' out to match"
                        + " at any time)");
            }
            return Optional.empty();
        }
        Set<DayOfWeek> days = EnumSet.allOf(DayOfWeek.class);
        if (entries.containsKey(DAYS)) {
            days = days(entries.get(DAYS).value(), problems);
        }
        int from = entries.containsKey(FROM) ? minute(entries.get(FROM).value(), false, problems) : 0;
        int to = entries.containsKey(TO) ? minute(entries.get(TO).value(), true, problems)
                : END_OF_DAY;
        ZoneId zone = entries.containsKey(ZONE) ? zone(entries.get(ZONE).value(), problems) : ZoneOffset.UTC;
        if (problems.count() != before) {
            return Optional.empty();
        }
        if (from == to) {
            Node at = entries.containsKey(TO) ? entries.get(TO).value() : value;
            problems.add(at, "'from' and 'to' are the same time: the window would be empty (leave both out for"
                    + " the whole day)");
            return Optional.empty();
        }
        if (to == 0) {
            to = END_OF_DAY; // "to: 00:00" ends the window at midnight, as 24:00 does
        }
        return Optional.of(new TimeMatch(days, from, to, zone, context.clock()));
    }

    private static Set<DayOfWeek> days(Node node, Problems problems) {
        Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
        Optional<SequenceNode> sequence = Nodes.sequence(node, problems);
        if (sequence.isEmpty()) {
            return days;
        }
        if (sequence.get().getValue().isEmpty()) {
            problems.add(node, "empty 'days' list: the window would never open (leave 'days' out for every day)");
            return days;
        }
        for (Node item : sequence.get().getValue()) {
            Optional<String> text = Nodes.string(item, problems);
            if (text.isEmpty()) {
                continue;
            }
            String entry = text.get().strip().toLowerCase(Locale.ROOT);
            int dash = entry.indexOf('-');
            if (dash < 0) {
                Optional<DayOfWeek> day = day(entry);
                if (day.isPresent()) {
                    days.add(day.get());
                } else {
                    problems.add(item, badDay(text.get(), entry));
                }
                continue;
            }
            Optional<DayOfWeek> first = day(entry.substring(0, dash).strip());
            Optional<DayOfWeek> last = day(entry.substring(dash + 1).strip());
            if (first.isEmpty() || last.isEmpty()) {
                String wrong = first.isEmpty() ? entry.substring(0, dash).strip() : entry.substring(dash + 1).strip();
                problems.add(item, badDay(text.get(), wrong));
                continue;
            }
            // a range may wrap around the week end: fri-mon is fri, sat, sun, mon
            DayOfWeek day = first.get();
            days.add(day);
            while (day != last.get()) {
                day = day.plus(1);
                days.add(day);
            }
        }
        return days;
    }

    private static String badDay(String written, String wrongPart) {
        Optional<String> near = Suggestions.nearest(wrongPart, DAY_NAMES);
        String hint = near.isPresent() && !near.get().equals(wrongPart) ? " (did you mean '" + near.get() + "'?)"
                : BAD_DAY_HINT;
        return "bad day '" + written + "'" + hint;
    }

    /** A day from its three-letter or full English name (lower case). */
    private static Optional<DayOfWeek> day(String name) {
        for (DayOfWeek day : DayOfWeek.values()) {
            String full = day.name().toLowerCase(Locale.ROOT);
            if (name.equals(full) || name.equals(full.substring(0, 3))) {
                return Optional.of(day);
            }
        }
        return Optional.empty();
    }

    /** Minutes after midnight of "HH:MM"; -1 after reporting a problem. "24:00" only for the end. */
    private static int minute(Node node, boolean end, Problems problems) {
        Optional<String> text = Nodes.string(node, problems);
        if (text.isEmpty()) {
            return -1;
        }
        Matcher m = TIME.matcher(text.get().strip());
        if (m.matches()) {
            int hours = Integer.parseInt(m.group(1));
            int minutes = Integer.parseInt(m.group(2));
            if (hours < 24 && minutes < 60) {
                return hours * 60 + minutes;
            }
            if (end && hours == 24 && minutes == 0) {
                return END_OF_DAY;
            }
        }
        problems.add(node, "bad time '" + text.get() + "' (expected HH:MM, e.g. 07:00 or 19:30"
                + (end ? ", or 24:00 for the end of the day)" : ")"));
        return -1;
    }

    private static ZoneId zone(Node node, Problems problems) {
        Optional<String> text = Nodes.string(node, problems);
        if (text.isEmpty()) {
            return ZoneOffset.UTC;
        }
        String name = text.get().strip();
        try {
            return ZoneId.of(name);
        } catch (DateTimeException e) {
            Optional<String> near = Suggestions.nearest(name, ZoneId.getAvailableZoneIds());
            problems.add(node, "unknown time zone '" + name + "'" + near.map(z -> " (did you mean '" + z + "'?)")
                    .orElse(" (expected an IANA zone such as Europe/Berlin or America/New_York, or UTC)"));
            return ZoneOffset.UTC;
        }
    }
}
