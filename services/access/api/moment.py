"""An access row at a moment: which of its reasons are in effect, and what comes next.

The access table keeps every reason of a (user, charger) pair, a time-bound share's with
its window (`valid_from`, `valid_until`, `schedule`). What the pair allows then depends
on the moment asked, so the check, the fast path and the lists evaluate the windows here,
alike, with the domain's arithmetic (`domain/windows.py`). Rows without a time-bound
reason never come here: they answer every moment alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.access.domain.access import LEVELS
from services.access.domain.weekly import Schedule
from services.access.domain.windows import Window, in_effect, next_change

Reason = dict[str, Any]

_SPANS_KEPT = 100_000


@dataclass(frozen=True)
class AtMoment:
    """A row's answer at one moment."""

    level: str | None
    """The highest level of the reasons in effect; None when none is."""
    why: list[Reason]
    """The reasons in effect, in the row's order (highest first)."""
    upcoming: dict[str, Any] | None
    """`{"level", "next_start"}` of a share not in effect then (`next_start` a UTC
    datetime, or None when it never comes into effect again); None without one."""


def window_of(reason: Reason) -> Window | None:
    """The window of a time-bound share's reason; None for a reason always in effect.

    A schedule is parsed once per distinct schedule (`Schedule.from_data` caches it), so
    evaluating many rows that share one costs the bounds' parsing only."""
    valid_from, valid_until = reason.get("valid_from"), reason.get("valid_until")
    schedule = reason.get("schedule")
    if valid_from is None and valid_until is None and schedule is None:
        return None
    return Window(
        None if valid_from is None else datetime.fromisoformat(valid_from),
        None if valid_until is None else datetime.fromisoformat(valid_until),
        None if schedule is None else Schedule.from_data(schedule),
    )


_spans: dict[Window, tuple[datetime, datetime | None, bool]] = {}
"""Per window, the last span it was evaluated in: (from, until, in effect), where the
answer holds from `from` until the next flip `until` (None: for ever). A check asks about
now, which moves forward, so the next check of that share mostly falls in the same span:
a lookup instead of walking the schedule (which costs about a hundred microseconds)."""


def effect(window: Window, at: datetime) -> tuple[bool, datetime | None]:
    """Whether `window` is in effect at `at`, and its next flip after `at` (None: never),
    which is the next start when it is not in effect."""
    span = _spans.get(window)
    if span is not None and span[0] <= at and (span[1] is None or at < span[1]):
        return span[2], span[1]
    on, flip = in_effect(window, at), next_change(window, at)
    if len(_spans) >= _SPANS_KEPT:
        del _spans[next(iter(_spans))]  # the oldest entry
    _spans[window] = (at, flip, on)
    return on, flip


def at_moment(why: list[Reason], at: datetime) -> AtMoment:
    """The reasons of `why` in effect at `at`, their level, and the upcoming share.

    With several shares not in effect (the read model holds one per pair, so not today)
    the first in `why`'s order is the upcoming one: the highest level."""
    in_force: list[Reason] = []
    upcoming: dict[str, Any] | None = None
    for reason in why:
        window = window_of(reason)
        if window is None:
            in_force.append(reason)
            continue
        on, flip = effect(window, at)
        if on:
            in_force.append(reason)
        elif upcoming is None:
            upcoming = {"level": reason["level"], "next_start": flip}
    level = max((r["level"] for r in in_force), key=LEVELS.__getitem__, default=None)
    return AtMoment(level, in_force, upcoming)


def listed(entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A list entry as of `now`: `in_effect`, and the level in effect then; a holder whose
    only access is not in effect keeps the level of the share that would give it. `why`
    stays every reason, time-bound ones with their window."""
    why: list[Reason] = entry["why"]
    if not any(window_of(reason) is not None for reason in why):
        return {**entry, "in_effect": True}
    moment = at_moment(why, now)
    if moment.level is not None:
        return {**entry, "level": moment.level, "in_effect": True}
    return {**entry, "level": entry["level"], "in_effect": False}
