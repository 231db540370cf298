package io.portcullis.policy;

import io.portcullis.policy.rule.TimeMatch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Clock;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.EnumSet;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code time} condition, against a clock the test sets (no wall-clock time involved). */
class TimeWindowTest {

    private final MutableClock clock = new MutableClock("2025-01-06T12:00:00Z");

    private ListenerPolicy listener(String time) throws PolicyException {
        return Policy.parse("""
                listeners:
                  demo:
                    rules:
                      - name: window
                        time: %s
                        action: accept
                    default: reject
                """.formatted(time), "rules.yaml", PolicyOptions.defaults().withClock(clock))
                .listener("demo").orElseThrow();
    }

    private boolean inWindow(ListenerPolicy policy, String instant) {
        clock.set(instant);
        return policy.evaluate(Requests.from("demo", "192.0.2.1")).rule().equals("window");
    }

    /** 2025-01-06 is a Monday; Berlin is UTC+1 in January and UTC+2 in July. */
    @ParameterizedTest
    @CsvSource({
            "2025-01-06T05:59:00Z, false",   // Monday 06:59 Berlin
            "2025-01-06T06:00:00Z, true",    // Monday 07:00 Berlin: from is inclusive
            "2025-01-06T17:59:59Z, true",    // Monday 18:59:59
            "2025-01-06T18:00:00Z, false",   // Monday 19:00: to is exclusive
            "2025-01-10T12:00:00Z, true",    // Friday
            "2025-01-11T12:00:00Z, false",   // Saturday
            "2025-01-12T12:00:00Z, false",   // Sunday
            "2025-07-07T05:30:00Z, true",    // Monday 07:30 Berlin in summer time
            "2025-01-06T06:30:00Z, true",    // Monday 07:30 Berlin in winter time
            "2025-01-06T05:30:00Z, false",   // Monday 06:30 Berlin in winter time, though 07:30 in summer
            "2025-07-07T17:30:00Z, false",   // Monday 19:30 Berlin in summer time
    })
    void officeHoursInAZoneFollowDaylightSavingTime(String instant, boolean expected) throws PolicyException {
        ListenerPolicy policy = listener("{days: [mon-fri], from: \"07:00\", to: \"19:00\", zone: Europe/Berlin}");

        assertThat(inWindow(policy, instant)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({
            "2025-01-10T21:59:00Z, false",   // Friday before the window
            "2025-01-10T22:00:00Z, true",    // Friday 22:00: the window opens on a listed day
            "2025-01-10T23:59:59Z, true",
            "2025-01-11T00:00:00Z, true",    // Saturday after midnight: still Friday's window
            "2025-01-11T05:59:59Z, true",
            "2025-01-11T06:00:00Z, false",   // Saturday 06:00: closed
            "2025-01-11T22:30:00Z, false",   // Saturday night: Saturday is not listed
            "2025-01-10T03:00:00Z, false",   // Friday early morning belongs to Thursday's window
            "2025-01-12T03:00:00Z, false",   // Sunday early morning belongs to Saturday's
    })
    void aWindowAcrossMidnightBelongsToTheDayItStarts(String instant, boolean expected) throws PolicyException {
        ListenerPolicy policy = listener("{days: [fri], from: \"22:00\", to: \"06:00\"}");

        assertThat(inWindow(policy, instant)).isEqualTo(expected);
    }

    @Test
    void nightlyWindowAcrossMidnightEveryDay() throws PolicyException {
        ListenerPolicy policy = listener("{from: \"22:00\", to: \"06:00\", zone: America/New_York}");

        assertThat(inWindow(policy, "2025-01-06T03:30:00Z")).as("22:30 New York").isTrue();
        assertThat(inWindow(policy, "2025-01-06T10:59:00Z")).as("05:59 New York").isTrue();
        assertThat(inWindow(policy, "2025-01-06T11:00:00Z")).as("06:00 New York").isFalse();
        assertThat(inWindow(policy, "2025-01-06T02:59:00Z")).as("21:59 New York").isFalse();
    }

    @ParameterizedTest
    @CsvSource({
            "2025-01-10T12:00:00Z, true",    // Friday
            "2025-01-11T12:00:00Z, true",    // Saturday
            "2025-01-12T12:00:00Z, true",    // Sunday
            "2025-01-13T12:00:00Z, true",    // Monday
            "2025-01-14T12:00:00Z, false",   // Tuesday
            "2025-01-15T12:00:00Z, true",    // Wednesday, listed on its own
            "2025-01-16T12:00:00Z, false",   // Thursday
    })
    void dayRangesMayWrapAroundTheWeekend(String instant, boolean expected) throws PolicyException {
        ListenerPolicy policy = listener("{days: [fri-mon, Wednesday]}");

        assertThat(inWindow(policy, instant)).isEqualTo(expected);
    }

    @Test
    void openEndedWindowsRunToTheEndOrFromTheStartOfTheDay() throws PolicyException {
        ListenerPolicy evening = listener("{from: \"18:00\"}");
        ListenerPolicy morning = listener("{to: \"09:00\", days: [sun]}");
        ListenerPolicy untilMidnight = listener("{from: \"20:00\", to: \"24:00\"}");

        assertThat(inWindow(evening, "2025-01-06T23:59:59Z")).isTrue();
        assertThat(inWindow(evening, "2025-01-06T17:59:59Z")).isFalse();
        assertThat(inWindow(morning, "2025-01-12T00:00:00Z")).isTrue();
        assertThat(inWindow(morning, "2025-01-12T09:00:00Z")).isFalse();
        assertThat(inWindow(morning, "2025-01-13T08:00:00Z")).as("Monday").isFalse();
        assertThat(inWindow(untilMidnight, "2025-01-06T23:59:00Z")).isTrue();
        assertThat(inWindow(untilMidnight, "2025-01-07T00:00:00Z")).isFalse();
    }

    @Test
    void toMidnightWrittenAsZeroHoursIsTheEndOfTheDay() throws PolicyException {
        ListenerPolicy untilMidnight = listener("{from: \"20:00\", to: \"00:00\", days: [mon]}");

        assertThat(inWindow(untilMidnight, "2025-01-06T19:59:00Z")).isFalse();
        assertThat(inWindow(untilMidnight, "2025-01-06T20:00:00Z")).isTrue();
        assertThat(inWindow(untilMidnight, "2025-01-06T23:59:59Z")).isTrue();
        assertThat(inWindow(untilMidnight, "2025-01-07T00:00:00Z")).isFalse();
    }

    @Test
    void theOffsetIsRightOnBothSidesOfATransition() {
        // Berlin springs forward on 2025-03-30 at 01:00Z (02:00 CET -> 03:00 CEST)
        MutableClock transitionClock = new MutableClock("2025-03-30T00:30:00Z");
        TimeMatch window = new TimeMatch(EnumSet.of(DayOfWeek.SUNDAY), 3 * 60, 4 * 60, ZoneId.of("Europe/Berlin"),
                transitionClock);

        assertThat(window.matchesAt(Instant.parse("2025-03-30T00:30:00Z").toEpochMilli())).as("01:30 CET").isFalse();
        assertThat(window.matchesAt(Instant.parse("2025-03-30T00:59:59Z").toEpochMilli())).as("01:59:59 CET").isFalse();
        assertThat(window.matchesAt(Instant.parse("2025-03-30T01:00:00Z").toEpochMilli())).as("03:00 CEST").isTrue();
        assertThat(window.matchesAt(Instant.parse("2025-03-30T01:59:00Z").toEpochMilli())).as("03:59 CEST").isTrue();
        assertThat(window.matchesAt(Instant.parse("2025-03-30T00:30:00Z").toEpochMilli())).as("back: 01:30 CET").isFalse();
        assertThat(window.matchesAt(Instant.parse("2025-03-30T02:00:00Z").toEpochMilli())).as("04:00 CEST").isFalse();
    }

    @Test
    void zoneDefaultsToUtcAndFixedOffsetsWork() throws PolicyException {
        ListenerPolicy utc = listener("{from: \"09:00\", to: \"10:00\"}");
        ListenerPolicy tokyo = listener("{from: \"09:00\", to: \"10:00\", zone: \"+09:00\"}");

        assertThat(inWindow(utc, "2025-01-06T09:30:00Z")).isTrue();
        assertThat(inWindow(tokyo, "2025-01-06T09:30:00Z")).isFalse();
        assertThat(inWindow(tokyo, "2025-01-06T00:30:00Z")).isTrue();
    }

    @Test
    void aWholeWeekAllDayIsACatchAllAndADayWindowIsNot() {
        TimeMatch always = new TimeMatch(EnumSet.allOf(DayOfWeek.class), 0, 24 * 60, ZoneOffset.UTC, Clock.systemUTC());
        TimeMatch weekdays = new TimeMatch(EnumSet.range(DayOfWeek.MONDAY, DayOfWeek.FRIDAY), 0, 24 * 60,
                ZoneOffset.UTC, Clock.systemUTC());

        assertThat(always.matchesEverything()).isTrue();
        assertThat(weekdays.matchesEverything()).isFalse();
        assertThat(weekdays.days()).containsExactly(DayOfWeek.MONDAY, DayOfWeek.TUESDAY, DayOfWeek.WEDNESDAY,
                DayOfWeek.THURSDAY, DayOfWeek.FRIDAY);
    }
}
