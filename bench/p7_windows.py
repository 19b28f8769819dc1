"""P7's time-bound shares: which of P3's generated grants become time-bound, with what
window, as the `AccessGranted` events the projection folds.

Every tenth grant (g % 10 == 5) is time-bound: half of them (g % 20 == 5) with
`valid_from` / `valid_until` only, half (g % 20 == 15) with a weekly schedule in
Europe/Oslo and no bounds. The bounds differ per share (offsets derived from g) and are
all in effect during the run; the schedules are what owners type — round hours and half
hours, a handful of day patterns, evenings that cross midnight written as two windows —
so some are in effect at the moment of the check and some are not. Pure: the clock is
passed in.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from charger_access_client import access_events as ev
from services.access.eventlog.values import EventHead
from services.access.projection.records import LogRecord

TIME_ZONE = "Europe/Oslo"
EVERY = 10
"""One grant in EVERY is time-bound: 100 k of 1 M."""

_DAY_PATTERNS: tuple[tuple[str, ...], ...] = (
    ("mon", "tue", "wed", "thu", "fri"),
    ("sat", "sun"),
    ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    ("mon", "wed", "fri"),
    ("tue", "thu"),
)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LENGTHS_HOURS = (2, 4, 6, 8, 10, 12, 14)
DISTINCT_SCHEDULES = len(_DAY_PATTERNS) * 24 * 2 * len(_LENGTHS_HOURS)
"""How many different schedules `schedule_of` hands out (1 680)."""


def is_timebound(g: int) -> bool:
    return g % EVERY == EVERY // 2


def is_scheduled(g: int) -> bool:
    """A time-bound grant with a schedule (the other half has bounds only)."""
    return g % (2 * EVERY) == EVERY + EVERY // 2


def timebound_numbers(grants: int) -> range:
    """The numbers of the time-bound grants among `grants` generated ones."""
    return range(EVERY // 2, grants, EVERY)


def permanent_number(i: int) -> int:
    """The i-th grant that stays permanent (skips the time-bound ones)."""
    per_block = EVERY - 1
    block, offset = divmod(i, per_block)
    return block * EVERY + (offset if offset < EVERY // 2 else offset + 1)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def schedule_of(g: int) -> dict[str, Any]:
    """A weekly schedule for grant g: one of DISTINCT_SCHEDULES, as the contract has it."""
    variant = g // (2 * EVERY)
    days = _DAY_PATTERNS[variant % len(_DAY_PATTERNS)]
    variant //= len(_DAY_PATTERNS)
    start = (variant % 48) * 30
    variant //= 48
    end = start + _LENGTHS_HOURS[variant % len(_LENGTHS_HOURS)] * 60
    if end <= 24 * 60:
        windows = [{"days": list(days), "from": _clock(start), "until": _clock(end)}]
    else:  # an evening into the next morning: until midnight, then on from the next day
        following = [_DAYS[(_DAYS.index(d) + 1) % 7] for d in days]
        windows = [{"days": list(days), "from": _clock(start), "until": "24:00"},
                   {"days": following, "from": "00:00", "until": _clock(end - 24 * 60)}]
    return {"time_zone": TIME_ZONE, "windows": windows}


def window_of(g: int, now: datetime) -> dict[str, Any]:
    """The window fields of time-bound grant g; every bounded one is in effect at `now`
    and for at least a week after it, each with bounds of its own."""
    if is_scheduled(g):
        return {"schedule": schedule_of(g)}
    return {"valid_from": now - timedelta(days=1, seconds=g % 86_400),
            "valid_until": now + timedelta(days=7, seconds=g % 604_800)}


def granted(g: int, user: uuid.UUID, charger: uuid.UUID, now: datetime) -> ev.AccessGranted:
    """The event an accepted time-bound invitation appends for grant g."""
    invitation = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-p7-invitation-{g}")
    return ev.AccessGranted(charger_id=charger, user_id=user, level="charge",
                            source={"kind": "invitation", "invitation_id": invitation},
                            **window_of(g, now))


def log_records(grants: Iterable[tuple[int, uuid.UUID, uuid.UUID]], now: datetime,
                first_position: int = 1) -> Iterator[LogRecord]:
    """The grants as the projection reads them from the log (stored JSON, then parsed)."""
    for position, (g, user, charger) in enumerate(grants, first_position):
        event = granted(g, user, charger, now)
        head = EventHead(charger, 1, "AccessGranted", charger, position, now, str(user),
                         f"bench-p7-{g}")
        yield LogRecord(position, head, json.loads(event.model_dump_json()))
