"""A weekly schedule in the wall-clock time of an IANA zone: what a share's `schedule` is.

Values only, validated when made (days, wall times "HH:MM" with "24:00" as the midnight
that ends a day, a known zone), with the per-weekday tables the window arithmetic reads
(`windows.py`). Parsed once per distinct schedule: shares often repeat one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
_WALL_TIME = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")


def minutes_of(wall_time: str) -> int:
    """Minutes after midnight of "HH:MM" ("24:00" = 1440, the midnight that ends the day)."""
    match = _WALL_TIME.match(wall_time)
    if match is None:
        raise ValueError(f"{wall_time!r} is not a wall time HH:MM")
    hours, minutes = (match.group(1), match.group(2)) if match.group(1) else ("24", "00")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class WeeklyWindow:
    """One line of a schedule: on these days, from this wall time until that one."""

    days: tuple[str, ...]
    start: str
    until: str

    def __post_init__(self) -> None:
        if not self.days or len(set(self.days)) != len(self.days):
            raise ValueError("days must be non-empty and not repeat")
        unknown = [d for d in self.days if d not in DAYS]
        if unknown:
            raise ValueError(f"unknown day(s) {unknown}")
        if minutes_of(self.start) >= minutes_of(self.until) or self.start == "24:00":
            raise ValueError(f"from {self.start} must be before until {self.until}")

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> WeeklyWindow:
        return cls(tuple(data["days"]), str(data["from"]), str(data["until"]))

    def to_data(self) -> dict[str, Any]:
        return {"days": list(self.days), "from": self.start, "until": self.until}


@dataclass(frozen=True)
class Schedule:
    """Weekly windows in the wall-clock time of `time_zone`."""

    time_zone: str
    windows: tuple[WeeklyWindow, ...]

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("a schedule needs at least one window")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.time_zone!r}") from None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Schedule:
        """Parsed once per distinct schedule: shares often repeat one, and the parsed object
        keeps its derived tables."""
        return _parsed(str(data["time_zone"]), tuple(
            (tuple(w["days"]), str(w["from"]), str(w["until"])) for w in data["windows"]))

    def to_data(self) -> dict[str, Any]:
        return {"time_zone": self.time_zone, "windows": [w.to_data() for w in self.windows]}

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @cached_property
    def by_weekday(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Per weekday (Monday = 0) its windows as (start, end) minutes, by start."""
        days: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for window in self.windows:
            for day in window.days:
                days[DAYS.index(day)].append((minutes_of(window.start), minutes_of(window.until)))
        return tuple(tuple(sorted(spans)) for spans in days)

    @cached_property
    def always(self) -> bool:
        """Whether the windows cover the whole week, so every instant is inside one."""
        spans = sorted((d * MINUTES_PER_DAY + s, d * MINUTES_PER_DAY + e)
                       for d, day in enumerate(self.by_weekday) for s, e in day)
        reached = 0
        for start, end in spans:
            if start > reached:
                return False
            reached = max(reached, end)
        return reached >= _MINUTES_PER_WEEK

    def wall_inside(self, t: datetime) -> bool:
        """Whether t's wall clock reads inside a window (sufficient, not necessary: see
        `in_effect` for the instants a fall-back hour adds)."""
        local = t.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in self.by_weekday[local.weekday()])


@lru_cache(maxsize=4096)
def _parsed(time_zone: str, windows: tuple[tuple[tuple[str, ...], str, str], ...]) -> Schedule:
    return Schedule(time_zone, tuple(WeeklyWindow(*w) for w in windows))
