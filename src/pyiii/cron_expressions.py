"""Cron expressions, seconds first (shared by iii-cron and the Steps framework, which refuses a bad
one when the step file loads) (spec/workers.md §10; the Rust ``cron`` crate's dialect).

``sec min hour day-of-month month day-of-week [year]`` with ``*``, ``?``, lists, ranges, steps
and names (``JAN``..``DEC``, ``SUN``..``SAT``). Day-of-week numbers are 1-7 with 1 = Sunday, as
in the crate; names are unambiguous and recommended. Day-of-month and day-of-week must both
match. Five-field Unix expressions are refused (they would silently mean something else).
Occurrences are computed in the job's time zone: a wall time skipped by a DST change does not
fire, a repeated one fires once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

MONTHS = {n: i + 1 for i, n in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
DAYS = {n: i + 1 for i, n in enumerate("SUN MON TUE WED THU FRI SAT".split())}

#: (name, low, high, names)
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, DAYS),
    ("year", 1970, 2099, {}),
)


class CronError(ValueError):
    pass


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise CronError(f"{name}: '{text}' is not a number{' or a name' if names else ''}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{name}: empty list item in '{text}'")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: bad step '{step_text}'")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if start > end:
                raise CronError(f"{name}: range '{base}' runs backwards")
        else:
            start = _value(base, name, low, high, names)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    years: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        parts = expression.split()
        if len(parts) not in (6, 7):
            raise CronError(f"expected 6 or 7 fields (sec min hour day-of-month month day-of-week [year]), "
                            f"got {len(parts)}")
        if len(parts) == 6:
            parts.append("*")
        sets = [_field(text, *spec) for text, spec in zip(parts, FIELDS, strict=True)]
        return cls(expression, *sets)

    def _day_matches(self, dt: datetime) -> bool:
        weekday = (dt.weekday() + 1) % 7 + 1  # Monday=0 -> 2 ... Sunday=6 -> 1
        return dt.day in self.days and dt.month in self.months and weekday in self.weekdays

    def next_after(self, after: datetime, tz: tzinfo = UTC) -> datetime | None:
        """The first occurrence strictly after ``after`` (aware), as an aware UTC datetime."""
        local = after.astimezone(tz).replace(tzinfo=None, microsecond=0) + timedelta(seconds=1)
        last_year = max(self.years)
        for _ in range(200_000):
            if local.year > last_year:
                return None
            if local.year not in self.years:
                local = datetime(local.year + 1, 1, 1)
            elif local.month not in self.months:
                local = (local.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(local):
                local = local.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif local.hour not in self.hours:
                local = local.replace(minute=0, second=0) + timedelta(hours=1)
            elif local.minute not in self.minutes:
                local = local.replace(second=0) + timedelta(minutes=1)
            elif local.second not in self.seconds:
                local += timedelta(seconds=1)
            else:
                aware = local.replace(tzinfo=tz)
                found = aware.astimezone(UTC)
                if found.astimezone(tz).replace(tzinfo=None) != local or found <= after:
                    # Skipped by a spring-forward change, or a wall time of a fall-back's repeated
                    # hour whose (first) occurrence has passed: `after` lies in the second pass,
                    # and a wall time fires once. Never answer a time before `after` (a caller
                    # that sleeps until it would spin).
                    local += timedelta(seconds=1)
                    continue
                return found
        return None
