"""When a share is in effect: the pure arithmetic of its window.

A share's window is two optional bounds (`valid_from` <= t < `valid_until`) and an optional
weekly schedule in the wall-clock time of an IANA zone. The write side, the scheduler, the
read side and the auditors all ask this module, so they agree to the instant; it does no I/O
(stdlib `zoneinfo` only).

Daylight saving: a window covers every instant whose wall clock reads inside it, as one
contiguous span. So `from` is the *first* occurrence of its wall time and `until` the
*second* (when clocks fall back and an hour repeats; but see `wall_instant` for an `until`
at the very start of the repeated hour), and a wall time that does not exist (the hour
skipped when clocks spring forward) is the first instant after the gap.
Windows that touch or overlap, across midnight and the week's end too, are one period:
`sun 22:00-24:00` and `mon 00:00-06:00` never flip at midnight.

Instants this module returns are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from services.access.domain.instants import rfc3339
from services.access.domain.weekly import MINUTES_PER_DAY, Schedule

# A merged period is shorter than a week (every schedule leaves some wall minute of the
# week uncovered, or it is `always`), so starting this far back finds the true start of
# the period around any instant.
_LOOK_BACK = timedelta(days=8)

Period = tuple[datetime | None, datetime | None]
"""[start, end) in UTC; None for "since ever" / "for ever"."""


@dataclass(frozen=True)
class Window:
    """When a share is in effect; all None (`PERMANENT`) for a share that always is."""

    valid_from: datetime | None = None
    valid_until: datetime | None = None
    schedule: Schedule | None = None

    def __post_init__(self) -> None:
        for bound in (self.valid_from, self.valid_until):
            if bound is not None and bound.utcoffset() is None:
                raise ValueError("valid_from / valid_until must carry a UTC offset")

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Window:
        """From `to_data`'s shape (or an event's fields): ISO strings or datetimes."""
        if not data:
            return PERMANENT
        schedule = data.get("schedule")
        return cls(_instant_of(data.get("valid_from")), _instant_of(data.get("valid_until")),
                   Schedule.from_data(schedule) if schedule else None)

    def to_data(self) -> dict[str, Any]:
        return {
            "valid_from": rfc3339(self.valid_from) if self.valid_from else None,
            "valid_until": rfc3339(self.valid_until) if self.valid_until else None,
            "schedule": self.schedule.to_data() if self.schedule else None,
        }

    def event_fields(self) -> dict[str, Any]:
        """The three fields as stored events carry them (datetimes, schedule data)."""
        return {"valid_from": self.valid_from, "valid_until": self.valid_until,
                "schedule": self.schedule.to_data() if self.schedule else None}

    @property
    def permanent(self) -> bool:
        return self.valid_from is None and self.valid_until is None and self.schedule is None

    @property
    def _weekly(self) -> Schedule | None:
        """The schedule, unless it covers the whole week (then only the bounds matter)."""
        return None if self.schedule is None or self.schedule.always else self.schedule


PERMANENT = Window()


def _instant_of(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _aware(t: datetime) -> datetime:
    if t.utcoffset() is None:
        raise ValueError("instants must carry a UTC offset")
    return t


# --- the questions ---------------------------------------------------------------------


def in_effect(w: Window, t: datetime) -> bool:
    """valid_from <= t < valid_until and, with a schedule, t inside one of its windows."""
    _aware(t)
    if w.valid_from is not None and t < w.valid_from:
        return False
    if w.valid_until is not None and t >= w.valid_until:
        return False
    schedule = w._weekly
    if schedule is None or schedule.wall_inside(t):
        return True
    # Outside by the wall clock, but maybe inside the span a repeated hour adds.
    day = t.astimezone(schedule.zone).date()
    for offset in (-2, -1, 0, 1):
        for start, end in _spans_of_day(schedule, day + timedelta(days=offset)):
            if start <= t < end:
                return True
    return False


def next_change(w: Window, t: datetime) -> datetime | None:
    """The first instant after t at which `in_effect` flips; None when it never will."""
    for start, end in _periods(w, _aware(t)):
        if start is not None and start > t:
            return start
        return end
    return None


def changes(w: Window, after: datetime, until: datetime) -> Iterator[tuple[datetime, bool]]:
    """Every flip in (after, until], in order: (instant, in effect from that instant)."""
    _aware(until)
    for start, end in _periods(w, _aware(after)):
        if start is not None and start > after:
            if start > until:
                return
            yield start, True
        if end is None or end > until:
            return
        yield end, False


def period_end(w: Window, t: datetime) -> datetime | None:
    """When in effect at t: the end of the continuous period around t (None: it never
    ends). When not in effect at t: t itself (an empty period)."""
    if not in_effect(w, t):
        return t
    for _start, end in _periods(w, t):
        return end
    return t  # pragma: no cover - in effect means there is a period around t


def next_start(w: Window, t: datetime) -> datetime | None:
    """When not in effect at t: the next instant it comes into effect (None: never again).
    When in effect at t: t itself."""
    if in_effect(w, t):
        return t
    for start, _end in _periods(w, t):
        return start
    return None


# --- periods ---------------------------------------------------------------------------


def _periods(w: Window, after: datetime) -> Iterator[Period]:
    """The periods in effect that end after `after`, in order, each maximal (disjoint and
    not touching, so each start and end is a flip)."""
    low, high = w.valid_from, w.valid_until
    if low is not None and high is not None and low >= high:
        return
    schedule = w._weekly
    if schedule is None:
        if high is None or high > after:
            yield _utc(low), _utc(high)
        return
    origin = max(after, low) if low is not None else after
    first_day = (origin - _LOOK_BACK).astimezone(schedule.zone).date()
    for opens, closes in _schedule_periods(schedule, first_day):
        if low is not None and closes <= low:
            continue
        if high is not None and opens >= high:
            return
        start = opens if low is None else max(opens, low.astimezone(UTC))
        end = closes if high is None else min(closes, high.astimezone(UTC))
        if end > after:
            yield start, end


def _schedule_periods(schedule: Schedule, first_day: date) -> Iterator[tuple[datetime, datetime]]:
    """The schedule's merged periods from `first_day`'s windows on, for ever (the first may
    have begun before `first_day`). Spans come in order of start, so merging is one pass."""
    current: list[datetime] | None = None
    day = first_day
    while True:
        for start, end in _spans_of_day(schedule, day):
            if current is None:
                current = [start, end]
            elif start <= current[1]:
                current[1] = max(current[1], end)
            else:
                yield current[0], current[1]
                current = [start, end]
        day += timedelta(days=1)


def _spans_of_day(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The non-empty instant spans of the windows that open on `day`, by start."""
    spans = []
    for start, end in schedule.by_weekday[day.weekday()]:
        opens = wall_instant(schedule.time_zone, day, start, later=False)
        closes = wall_instant(schedule.time_zone, day, end, later=True)
        if opens < closes:
            spans.append((opens, closes))
    return spans


@lru_cache(maxsize=65_536)
def wall_instant(time_zone: str, day: date, minute: int, *, later: bool) -> datetime:
    """The UTC instant of wall time `minute` (1440 = the next midnight) on `day`.

    A wall time that occurs twice (clocks fall back) is its first occurrence, or with
    `later` (for `until`) its second, so the window spans the repeat. One exception keeps
    the window to instants whose wall clock reads inside it: when the repeat *begins* at
    that wall time (`until` 02:00 in Oslo's October night), the instants before its second
    occurrence all read 02:00 or later, so it is the first occurrence. A wall time clocks
    spring forward over is the first instant after the gap.
    """
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    zone = ZoneInfo(time_zone)
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    first = wall.replace(fold=0).astimezone(UTC)
    second = wall.replace(fold=1).astimezone(UTC)
    if first > second:  # in a gap: fold=1 lands before it, fold=0 after
        return _transition(zone, second, first)
    if first == second or not later:
        return first
    # Twice: the second occurrence, unless the repeat begins at it (then the wall clock
    # never reads before it again, and the instants between read outside the window).
    just_before = (second - timedelta(microseconds=1)).astimezone(zone).replace(tzinfo=None)
    return second if just_before < wall.replace(tzinfo=None) else first


def _transition(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The instant in (before, after] where the zone's offset changes (to the second)."""
    target = after.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _utc(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(UTC)
