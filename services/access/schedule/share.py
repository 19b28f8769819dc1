"""One time-bound share as the scheduler holds it, and when it is next due.

Per (charger, user) share: its window, whether it was in effect as of its last recorded
boundary (or its grant), and whether its ending notice was given, folded the way the
Charger aggregate folds them. Its next due time is its next boundary (`next_change` after
the last one recorded) or the time of its ending notice, whichever comes first. Pure
window arithmetic: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from services.access.domain.windows import Window, next_change

ShareKey = tuple[UUID, UUID]
"""(charger_id, user_id)"""


@dataclass(slots=True)
class Patch:
    """Marks folded for a share this timetable does not hold and whose state it does not
    know (the book does): what they set. Only a race makes one (another instance, with a
    later horizon, marked a share due beyond this one's), but a mark the book missed would
    leave its row's next boundary stale for good."""

    in_effect: bool | None = None
    since: datetime | None = None
    noticed: bool = False

    def apply(self, to: Share | Patch) -> None:
        """Onto a share, or onto the marks folded before (the later mark wins)."""
        if self.in_effect is not None and self.since is not None:
            to.in_effect, to.since = self.in_effect, self.since
        to.noticed = to.noticed or self.noticed


@dataclass(slots=True)
class Share:
    """One time-bound share, as the Charger aggregate holds it for the user.

    The scheduler holds one for every time-bound share still to change (90 k at 1 M
    events), so each is kept small: slots, and no set of its own until one is settled."""

    window: Window
    in_effect: bool
    since: datetime
    """The instant of its last recorded boundary, or of its grant."""
    granted_at: datetime
    noticed: bool = False
    """Its ending notice was given (for this grant's `valid_until`)."""
    settled: frozenset[datetime] = frozenset()
    """Due times the aggregate had nothing to append for (another instance appended it,
    or the notice of a share that ended first): not due again. A grant's boundaries only
    move forward and its notice time is fixed, so these never come back for this grant;
    a new grant is a new `Share`."""

    def next_boundary(self) -> datetime | None:
        return next_change(self.window, self.since)

    def notice_at(self, notice: timedelta) -> datetime | None:
        """When the ending notice is due (as `Charger.ending_due`): `valid_until` less
        `notice`, unless given already or the grant came that close to the end."""
        end = self.window.valid_until
        if end is None or self.noticed or self.granted_at >= end - notice:
            return None
        return end - notice

    def due(self, notice: timedelta) -> datetime | None:
        return self.plan(notice)[1]

    def finished(self, notice: timedelta) -> bool:
        """Nothing will ever be due again (until a new grant replaces it)."""
        return self.plan(notice)[0]

    def plan(self, notice: timedelta) -> tuple[bool, datetime | None]:
        """(`finished`, `due`) with the window's arithmetic done once: a fold asks both of
        every share it changes, and a start or a new horizon of every share it reads."""
        boundary, notice_at = self.next_boundary(), self.notice_at(notice)
        finished = boundary is None and (notice_at is None or notice_at in self.settled)
        times = [t for t in (boundary, notice_at) if t is not None and t not in self.settled]
        return finished, min(times, default=None)
