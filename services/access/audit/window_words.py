"""A share's window in an auditor's words: "from 2025-06-06 16:00 CEST until 2025-06-09
08:00 CEST on Sat, Sun 08:00-20:00 (Europe/Oslo)" (the dash between times is an en dash, `DASH`).

Instants are shown in the schedule's zone when there is one (the zone the owner thinks
in, so they read like the schedule), otherwise with the offset they were given in; to the
second only when they are not on a whole minute, so nothing an auditor reads is rounded.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from pydantic import BaseModel

from services.access.domain.weekly import DAYS, Schedule, WeeklyWindow
from services.access.domain.windows import Window

_DAY_NAMES = {day: day.capitalize() for day in DAYS}
DASH = "\u2013"
"""An en dash: between the times of a window and the first and last day of a range."""


class Windowed(Protocol):
    """An event with the three window fields (UserInvited, AccessGranted, ...)."""

    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...
    @property
    def schedule(self) -> BaseModel | None: ...


def window_of(event: Windowed) -> Window:
    """The window an event carries (`PERMANENT` when it has none)."""
    schedule = event.schedule.model_dump(by_alias=True) if event.schedule is not None else None
    return Window.from_data({"valid_from": event.valid_from, "valid_until": event.valid_until,
                             "schedule": schedule})


def window_phrase(window: Window) -> str:
    """"from … until … on …" (each part only when the window has it); "" when permanent."""
    zone = window.schedule.zone if window.schedule is not None else None
    parts = []
    if window.valid_from is not None:
        parts.append(f"from {instant(window.valid_from, zone)}")
    if window.valid_until is not None:
        parts.append(f"until {instant(window.valid_until, zone)}")
    if window.schedule is not None:
        parts.append(f"on {schedule_phrase(window.schedule)}")
    return " ".join(parts)


def with_window(sentence: str, window: Window) -> str:
    """The sentence, followed by its window when it has one (a permanent one reads as is)."""
    phrase = window_phrase(window)
    return f"{sentence}, {phrase}" if phrase else sentence


def schedule_phrase(schedule: Schedule) -> str:
    """"Sat, Sun 08:00-20:00 and Mon-Fri 17:00-22:00 (Europe/Oslo)"."""
    windows = " and ".join(_weekly(w) for w in schedule.windows)
    return f"{windows} ({schedule.time_zone})"


def _weekly(window: WeeklyWindow) -> str:
    return f"{_days(window.days)} {window.start}{DASH}{window.until}"


def _days(days: tuple[str, ...]) -> str:
    """In week order; three or more days in a row as a range (Mon-Fri)."""
    indexes = sorted(DAYS.index(day) for day in days)
    runs: list[list[int]] = []
    for index in indexes:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    named = []
    for run in runs:
        first, last = _DAY_NAMES[DAYS[run[0]]], _DAY_NAMES[DAYS[run[-1]]]
        if len(run) >= 3:
            named.append(f"{first}{DASH}{last}")
        else:
            named.extend(_DAY_NAMES[DAYS[i]] for i in run)
    return ", ".join(named)


def instant(t: datetime, zone: tzinfo | None = None) -> str:
    """"2025-06-06 16:00 CEST" in `zone`; without one, in t's own offset ("+02:00", "UTC")."""
    local = t.astimezone(zone) if zone is not None else t
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if local.second or local.microsecond
                           else "%Y-%m-%d %H:%M")
    if local.microsecond:
        shown += f".{local.microsecond:06d}"
    return f"{shown} {local.strftime('%Z') if zone is not None else _offset(local)}"


def _offset(local: datetime) -> str:
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
