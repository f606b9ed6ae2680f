"""``pyiii.cron_expressions``: the seconds-first dialect (6 or 7 fields), its errors, and the next
occurrence in UTC and in a time zone across DST changes. Pure: no engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pyiii.cron_expressions import CronError, CronSchedule

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def nexts(expression: str, after: datetime, n: int, tz: ZoneInfo | None = None) -> list[datetime]:
    schedule = CronSchedule.parse(expression)
    out: list[datetime] = []
    for _ in range(n):
        found = schedule.next_after(after, tz) if tz is not None else schedule.next_after(after)
        assert found is not None
        out.append(found)
        after = found
    return out


# ------------------------------------------------------------------ parsing


def test_six_fields_mean_every_year_and_seven_name_the_years() -> None:
    six = CronSchedule.parse("0 0 12 * * *")
    assert six.seconds == {0} and six.minutes == {0} and six.hours == {12}
    assert six.days == frozenset(range(1, 32)) and six.months == frozenset(range(1, 13))
    assert six.weekdays == frozenset(range(1, 8)) and six.years == frozenset(range(1970, 2100))
    assert CronSchedule.parse("0 0 12 * * * 2030-2032").years == {2030, 2031, 2032}


@pytest.mark.parametrize("expression", ["* * * * *", "0 0 0 * * * * 2030", "", "0 0 0 1"])
def test_other_field_counts_are_refused(expression: str) -> None:
    with pytest.raises(CronError, match="expected 6 or 7 fields"):
        CronSchedule.parse(expression)


@pytest.mark.parametrize(("field", "expected"), [
    ("*", frozenset(range(0, 60))),
    ("?", frozenset(range(0, 60))),
    ("7", {7}),
    ("1,2,30", {1, 2, 30}),
    ("10-13", {10, 11, 12, 13}),
    ("*/15", {0, 15, 30, 45}),
    ("10-30/10", {10, 20, 30}),
    ("5/20", {5, 25, 45}),  # a start with a step runs to the end of the range
    ("0-4/2,50-59/5", {0, 2, 4, 50, 55}),
    ("59", {59}),
])
def test_second_field_forms(field: str, expected: frozenset[int]) -> None:
    assert CronSchedule.parse(f"{field} 0 0 * * *").seconds == expected


def test_names_are_case_insensitive_and_days_count_from_sunday() -> None:
    schedule = CronSchedule.parse("0 0 0 * jan-Mar,dec Sun,sat")
    assert schedule.months == {1, 2, 3, 12} and schedule.weekdays == {1, 7}
    assert CronSchedule.parse("0 0 0 * * MON-FRI").weekdays == {2, 3, 4, 5, 6}
    assert CronSchedule.parse("0 0 0 * * 2-6").weekdays == CronSchedule.parse("0 0 0 * * MON-FRI").weekdays


@pytest.mark.parametrize(("expression", "message"), [
    ("60 * * * * *", "second: 60 is outside 0-59"),
    ("* 60 * * * *", "minute: 60 is outside 0-59"),
    ("* * 24 * * *", "hour: 24 is outside 0-23"),
    ("* * * 0 * *", "day-of-month: 0 is outside 1-31"),
    ("* * * 32 * *", "day-of-month: 32 is outside 1-31"),
    ("* * * * 13 *", "month: 13 is outside 1-12"),
    ("* * * * * 0", "day-of-week: 0 is outside 1-7"),
    ("* * * * * 8", "day-of-week: 8 is outside 1-7"),
    ("* * * * * * 1969", "year: 1969 is outside 1970-2099"),
    ("* * * * * * 2100", "year: 2100 is outside 1970-2099"),
    ("5-1 * * * * *", "second: range '5-1' runs backwards"),
    ("*/0 * * * * *", "second: bad step '0'"),
    ("*/x * * * * *", "second: bad step 'x'"),
    ("1,,2 * * * * *", "second: empty list item"),
    ("x * * * * *", "second: 'x' is not a number"),
    ("* * * * FOO *", "month: 'FOO' is not a number or a name"),
    ("* * * * * MON-XYZ", "day-of-week: 'XYZ' is not a number or a name"),
    ("-1 * * * * *", "second: '' is not a number"),
])
def test_errors_name_the_field_and_the_problem(expression: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        CronSchedule.parse(expression)
    assert message in str(raised.value)


@pytest.mark.parametrize("expression", ["0 0 0 L * *", "0 0 0 15W * *", "0 0 0 * * 6#3", "0 0 0 * * 6L"])
def test_quartz_extensions_are_refused_not_misread(expression: str) -> None:
    with pytest.raises(CronError, match="is not a number"):
        CronSchedule.parse(expression)


def test_cron_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        CronSchedule.parse("nonsense")


# ------------------------------------------------------------------ next occurrence (UTC)


def test_next_is_strictly_after_and_ignores_microseconds() -> None:
    every_second = CronSchedule.parse("* * * * * *")
    assert every_second.next_after(utc(2026, 1, 1, 0, 0, 0)) == utc(2026, 1, 1, 0, 0, 1)
    assert every_second.next_after(utc(2026, 1, 1, 0, 0, 0).replace(microsecond=999_999)) == utc(2026, 1, 1, 0, 0, 1)
    assert CronSchedule.parse("30 * * * * *").next_after(utc(2026, 1, 1, 0, 0, 30)) == utc(2026, 1, 1, 0, 1, 30)


def test_steps_carry_over_minutes_hours_days_months_and_years() -> None:
    assert nexts("*/20 * * * * *", utc(2026, 1, 1, 0, 0, 50), 3) == [
        utc(2026, 1, 1, 0, 1, 0), utc(2026, 1, 1, 0, 1, 20), utc(2026, 1, 1, 0, 1, 40)]
    assert nexts("0 0 */6 * * *", utc(2026, 12, 31, 19, 0, 0), 2) == [utc(2027, 1, 1, 0, 0, 0), utc(2027, 1, 1, 6)]
    assert nexts("0 30 9 31 * *", utc(2026, 1, 31, 10, 0), 3) == [  # only months with a 31st
        utc(2026, 3, 31, 9, 30), utc(2026, 5, 31, 9, 30), utc(2026, 7, 31, 9, 30)]


def test_leap_days() -> None:
    assert nexts("0 0 0 29 FEB *", utc(2025, 1, 1), 2) == [utc(2028, 2, 29), utc(2032, 2, 29)]


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    # Friday the 13th (not "the 13th or any Friday", as in Vixie cron)
    assert nexts("0 0 0 13 * FRI", utc(2026, 1, 1), 3) == [utc(2026, 2, 13), utc(2026, 3, 13), utc(2026, 11, 13)]


def test_weekday_numbers_count_from_sunday() -> None:
    sunday = CronSchedule.parse("0 0 8 * * 1").next_after(utc(2026, 3, 2))  # a Monday
    assert sunday == utc(2026, 3, 8, 8) and sunday.weekday() == 6


def test_years_bound_the_schedule() -> None:
    assert nexts("0 0 0 1 1 * 2030,2032", utc(2026, 6, 1), 2) == [utc(2030, 1, 1), utc(2032, 1, 1)]
    assert CronSchedule.parse("0 0 0 1 1 * 2030").next_after(utc(2030, 1, 1)) is None


def test_an_impossible_date_has_no_occurrence() -> None:
    assert CronSchedule.parse("0 0 0 30 FEB *").next_after(utc(2026, 1, 1)) is None


def test_the_result_is_aware_utc_for_any_aware_input() -> None:
    after = datetime(2026, 1, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 03:00 UTC
    found = CronSchedule.parse("0 0 * * * *").next_after(after)
    assert found == utc(2026, 1, 1, 4) and found is not None and found.tzinfo is UTC


# ------------------------------------------------------------------ time zones and DST


def test_wall_time_in_a_zone() -> None:
    # 09:00 in New York: 14:00 UTC in winter, 13:00 UTC in summer
    assert nexts("0 0 9 * * *", utc(2026, 1, 10), 1, NEW_YORK) == [utc(2026, 1, 10, 14)]
    assert nexts("0 0 9 * * *", utc(2026, 7, 10), 1, NEW_YORK) == [utc(2026, 7, 10, 13)]


def test_a_wall_time_skipped_by_spring_forward_does_not_fire() -> None:
    # Europe/Berlin, 2026-03-29: 02:00 -> 03:00; 02:30 does not exist that day
    assert nexts("0 30 2 * * *", utc(2026, 3, 28, 12), 2, BERLIN) == [
        utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]
    hourly = nexts("0 0 * * * *", utc(2026, 3, 28, 23, 30), 3, BERLIN)  # 00:30 local
    assert hourly == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)]  # 01:00, 03:00, 04:00 local


def test_a_repeated_wall_time_fires_once_at_fall_back() -> None:
    # America/New_York, 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 happens twice
    assert nexts("0 30 1 * * *", utc(2026, 10, 31, 12), 2, NEW_YORK) == [
        utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]  # 01:30 EDT, then the next day 01:30 EST


@pytest.mark.parametrize("minutes_into_the_second_hour", [0, 15, 30])
def test_next_is_after_its_input_inside_the_repeated_hour(minutes_into_the_second_hour: int) -> None:
    after = utc(2026, 11, 1, 6) + timedelta(minutes=minutes_into_the_second_hour)  # 01:xx EST, the second 01:xx
    found = CronSchedule.parse("0 */20 * * * *").next_after(after, NEW_YORK)
    assert found is not None and found > after
