"""Appending a share's due boundaries and ending notice through the Charger aggregate.

The aggregate is the authority: `mark_boundaries` appends every flip between the last
one it recorded and now, in order, with their nominal instants, and `notice_ending`
appends the notice once per `valid_until`; both append nothing when nothing is due. The
events are committed like a command's (one transaction, optimistic on the aggregate's
version) but with no command result. When another instance committed first, the commit
conflicts; the share is loaded again and then has nothing due. So each boundary is
appended exactly once however many schedulers race, and a scheduler that was down
appends what it missed, in order, when it comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from services.access.domain.base import Cause
from services.access.domain.charger import Charger
from services.access.domain.user import User
from services.access.ports import EventStore, Forgetting

log = logging.getLogger(__name__)

ACTOR = "scheduler"
"""The actor stamped on what the scheduler appends (no person caused it)."""
MAX_ATTEMPTS = 8


class ShareContentionError(RuntimeError):
    """The share's charger kept changing under the scheduler; it tries again later."""


@dataclass(frozen=True)
class Appended:
    """What one call appended for one share."""

    boundaries: int = 0
    notices: int = 0

    def __bool__(self) -> bool:
        return bool(self.boundaries or self.notices)


def append_due(
    store: EventStore, charger_id: UUID, user_id: UUID, notice: timedelta,
    clock: Callable[[], datetime],
) -> Appended:
    """Append what is due for the user's share on the charger as of `clock()`."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        _seen, found = store.load_batch([], [charger_id])
        charger = found.get(charger_id)
        if not isinstance(charger, Charger):
            return Appended()
        now = clock()
        cause = Cause(ACTOR, command_id(charger, user_id, notice), now)
        boundaries = charger.mark_boundaries(user_id, now, cause)
        noticed = False
        due = _notice_due(charger, user_id, notice)
        if due is not None and due <= now:
            noticed = charger.notice_ending(_person(store, user_id), now, notice, cause)
        events = list(charger.collect_events())
        if not events:
            return Appended()
        try:
            store.commit(events, [], Forgetting())
        except IntegrityError:
            log.info("share %s/%s changed while appending its boundaries (attempt %d)",
                     charger_id, user_id, attempt)
            continue
        return Appended(boundaries, int(noticed))
    raise ShareContentionError(f"share {charger_id}/{user_id} kept conflicting")


def append_all_due(
    store: EventStore, keys: Sequence[tuple[UUID, UUID]], notice: timedelta,
    clock: Callable[[], datetime],
) -> list[Appended]:
    """`append_due` for every (charger, user) share of `keys`, in one load and one commit:
    boundaries falling close together (many shares granted for the same hour) then cost
    one round of the store, not one each, and none waits behind the others' commits. A
    conflict (another instance appended some, or a command changed one of the chargers)
    falls back to one share at a time, each with its own retries."""
    if len(keys) <= 1:
        return [append_due(store, c, u, notice, clock) for c, u in keys]
    _seen, found = store.load_batch([], list(dict.fromkeys(c for c, _u in keys)))
    now = clock()
    appended: list[Appended] = []
    for charger_id, user_id in keys:
        charger = found.get(charger_id)
        if not isinstance(charger, Charger):
            appended.append(Appended())
            continue
        cause = Cause(ACTOR, command_id(charger, user_id, notice), now)
        boundaries = charger.mark_boundaries(user_id, now, cause)
        noticed = False
        due = _notice_due(charger, user_id, notice)
        if due is not None and due <= now:
            noticed = charger.notice_ending(_person(store, user_id), now, notice, cause)
        appended.append(Appended(boundaries, int(noticed)))
    events = [e for a in found.values() if isinstance(a, Charger) for e in a.collect_events()]
    if not events:
        return appended
    try:
        store.commit(events, [], Forgetting())
    except IntegrityError:
        log.info("%d shares changed while appending their boundaries together; "
                 "one at a time", len(keys))
        return [append_due(store, c, u, notice, clock) for c, u in keys]
    return appended


def command_id(charger: Charger, user_id: UUID, notice: timedelta) -> str:
    """Names the first thing due, so every instance appending it stamps the same id."""
    due = [t for t in (charger.next_boundary(user_id), _notice_due(charger, user_id, notice))
           if t is not None]
    first = min(due).isoformat() if due else "none"
    return f"schedule:{charger.charger_id}:{user_id}:{first}"


def _notice_due(charger: Charger, user_id: UUID, notice: timedelta) -> datetime | None:
    return charger.ending_due(user_id, notice) if str(user_id) in charger.windows else None


def _person(store: EventStore, user_id: UUID) -> dict[str, Any]:
    """The holder as the notice names them now (the store seals it again on commit)."""
    user = store.load(user_id)
    if not isinstance(user, User):
        raise LookupError(f"user {user_id} of a share does not exist")
    return user.person()
