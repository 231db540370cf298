package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;

import java.time.Clock;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.ZoneId;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code time} condition: the current time, in a time zone, falls in a weekly window
 * ({@code time: {days: [mon-fri], from: "07:00", to: "19:00", zone: Europe/Berlin}}).
 *
 * <p>{@code from} is inclusive, {@code to} exclusive, both minutes of the day in the zone's local
 * time (so the window follows daylight saving time). When {@code to} is not after {@code from} the
 * window crosses midnight: {@code from: "22:00", to: "06:00"} on {@code days: [fri]} runs from Friday
 * 22:00 to Saturday 06:00 — {@code days} name the day a window <em>starts</em> on.
 *
 * <p>"Now" is read from the {@link Clock} given when the policy was compiled (the system clock unless
 * a test passes a fixed one), not from the request. Evaluation allocates nothing: the zone's UTC
 * offset is cached until its next transition.
 */
public final class TimeMatch implements Match {

    public static final String KEY = "time";

    static final int MINUTES_PER_DAY = 24 * 60;
    private static final int SECONDS_PER_DAY = 24 * 60 * 60;

    private final int days;
    private final int from;
    private final int to;
    private final ZoneId zone;
    private final ZoneRules rules;
    private final Clock clock;
    private final int fixedOffsetSeconds;
    private volatile OffsetSpan span;

    /** A stretch of time with one UTC offset: [fromMillis, untilMillis). */
    private record OffsetSpan(long fromMillis, long untilMillis, int offsetSeconds) {
    }

    /**
     * @param days        the days a window starts on; not empty
     * @param fromMinute  start, minutes after local midnight (0-1439), inclusive
     * @param toMinute    end, minutes after local midnight (1-1440), exclusive; at or before
     *                    {@code fromMinute} means the window crosses midnight
     * @param zone        the zone whose local time the window is in
     * @param clock       where "now" comes from
     */
    public TimeMatch(Set<DayOfWeek> days, int fromMinute, int toMinute, ZoneId zone, Clock clock) {
        if (days.isEmpty()) {
            throw new IllegalArgumentException("no days");
        }
        if (fromMinute < 0 || fromMinute >= MINUTES_PER_DAY || toMinute < 1 || toMinute > MINUTES_PER_DAY
                || fromMinute == toMinute) {
            throw new IllegalArgumentException("bad window " + fromMinute + "-" + toMinute);
        }
        int mask = 0;
        for (DayOfWeek day : days) {
            mask |= 1 << (day.getValue() - 1);
        }
        this.days = mask;
        this.from = fromMinute;
        this.to = toMinute;
        this.zone = Objects.requireNonNull(zone, "zone");
        this.rules = zone.getRules();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.fixedOffsetSeconds = rules.isFixedOffset() ? rules.getOffset(Instant.EPOCH).getTotalSeconds() : 0;
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        return matchesAt(clock.millis());
    }

    /** Whether the window holds at {@code epochMillis}. Allocates nothing except at offset changes. */
    public boolean matchesAt(long epochMillis) {
        long localSeconds = Math.floorDiv(epochMillis, 1000) + offsetSeconds(epochMillis);
        long epochDay = Math.floorDiv(localSeconds, SECONDS_PER_DAY);
        int minute = Math.floorMod(localSeconds, SECONDS_PER_DAY) / 60;
        int day = Math.floorMod(epochDay + 3, 7); // 1970-01-01 was a Thursday; 0 = Monday
        if (from < to) {
            return isDay(day) && minute >= from && minute < to;
        }
        int previousDay = day == 0 ? 6 : day - 1;
        return isDay(day) && minute >= from || isDay(previousDay) && minute < to;
    }

    private boolean isDay(int mondayBased) {
        return (days & (1 << mondayBased)) != 0;
    }

    private int offsetSeconds(long epochMillis) {
        if (rules.isFixedOffset()) {
            return fixedOffsetSeconds;
        }
        OffsetSpan cached = span;
        if (cached != null && epochMillis >= cached.fromMillis && epochMillis < cached.untilMillis) {
            return cached.offsetSeconds;
        }
        Instant instant = Instant.ofEpochMilli(epochMillis);
        int offset = rules.getOffset(instant).getTotalSeconds();
        // a transition exactly at epochMillis counts as previous: look from one millisecond later
        ZoneOffsetTransition previous = rules.previousTransition(Instant.ofEpochMilli(epochMillis + 1));
        ZoneOffsetTransition next = rules.nextTransition(instant);
        long fromMillis = previous == null ? Long.MIN_VALUE : previous.getInstant().toEpochMilli();
        long untilMillis = next == null ? Long.MAX_VALUE : next.getInstant().toEpochMilli();
        if (fromMillis > epochMillis || untilMillis <= epochMillis) {
            fromMillis = epochMillis;
            untilMillis = epochMillis + 1;
        }
        span = new OffsetSpan(fromMillis, untilMillis, offset);
        return offset;
    }

    /** Every day, all day (only when written so; a rule with it is a catch-all). */
    @Override
    public boolean matchesEverything() {
        return days == 0x7F && from == 0 && to == MINUTES_PER_DAY;
    }

    public Set<DayOfWeek> days() {
        EnumSet<DayOfWeek> set = EnumSet.noneOf(DayOfWeek.class);
        for (DayOfWeek day : DayOfWeek.values()) {
            if (isDay(day.getValue() - 1)) {
                set.add(day);
            }
        }
        return set;
    }

    public ZoneId zone() {
        return zone;
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public String toString() {
        return "time[" + days() + " " + hhmm(from) + "-" + hhmm(to) + " " + zone + "]";
    }

    private static String hhmm(int minute) {
        return String.format("%02d:%02d", minute / 60, minute % 60);
    }
}
