"""What the scheduler knows of the time-bound shares, and when each next needs it.

Folded from the share events of the log, the same way the Charger aggregate folds them:
per (charger, user) share its window, whether it was in effect as of its last recorded
boundary (or its grant), and whether its ending notice was given. From that, each share's
next due time: its next boundary (`next_change` after the last one recorded) or the
time of its ending notice, whichever comes first; a heap orders them.

A timetable may hold only the shares due before a horizon (`until`): at fleet scale the
time-bound shares are many (900 k at 10 M events) and most are due months ahead, so
holding them all would cost the service most of its memory. A share due later is let go
as it is folded, but not lost: every share a fold changes is noted (`changes`), and the
scheduler writes the notes to the share book (`book`), which keeps every time-bound
share with its next due time; a later horizon's timetable takes the shares due by then
from there. A day's horizon still holds every share with a recurring window, so a
timetable may also have a `capacity`: it then holds only about that many, those due
first, and brings its horizon in to fit.

This is only a timetable. The Charger aggregate decides what is appended (its
`mark_boundaries` and `notice_ending` are idempotent on its own state), so a timetable
that lags the log costs a needless load, never a wrong or a duplicate event. Pure: no
I/O, no clock.
"""

from __future__ import annotations

import heapq
import itertools
import weakref
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from charger_access_client import access_events as ev
from charger_access_client.access_events import EVENT_TYPES, AccessEvent
from services.access.domain.windows import Schedule, Window, in_effect, next_change
from services.access.eventlog.values import LoggedEvent

ShareKey = tuple[UUID, UUID]
"""(charger_id, user_id)"""
WindowKey = tuple[datetime | None, datetime | None, Schedule | None]


class ShareRead(list[LoggedEvent]):
    """A read's share events, and how far the read looked (`reached`): at least the last
    event's position, and the log's head when the read was not cut short by its limit.

    The scheduler resumes from `reached`, not from its last share event: a log whose tail
    holds no share events (registrations, invitations) was read again from that event on
    every turn, a scan that grew with the log (10 ms a turn after ~40 k events)."""

    def __init__(self, events: list[LoggedEvent], reached: int) -> None:
        super().__init__(events)
        self.reached = reached


_MARKS = (ev.ShareCameIntoEffect, ev.ShareWentOutOfEffect, ev.ShareEnding)


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


class Timetable:
    """The time-bound shares and their due times, folded from the log's share events."""

    def __init__(self, notice: timedelta, until: datetime | None = None, *,
                 notes: bool = False, capacity: int | None = None) -> None:
        """`notes`: note what each fold changes, for the book (`changes`). `capacity`
        (noting timetables only, the book keeping what they let go): hold about this many
        shares at most, the ones due first (`_bring_in`)."""
        if capacity is not None and (not notes or until is None or capacity < 1):
            raise ValueError("a capacity needs a horizon, notes for a book, and room")
        self.notice = notice
        self.until = until
        """The horizon: shares due after it are not held (None: every share is held).
        A capacity may bring it in (never out: only a new timetable moves it later)."""
        self.capacity = capacity
        self._bring_in_above = 2 * capacity if capacity is not None else 0
        self.position = 0
        self.shares: dict[ShareKey, Share] = {}
        self._heap: list[tuple[datetime, int, ShareKey]] = []
        self._entry: dict[ShareKey, int] = {}
        """The heap entry (its tie-breaker) that stands for each share's current due time;
        older entries are skipped when they surface."""
        self._counter = itertools.count()
        self._windows: weakref.WeakValueDictionary[WindowKey, Window] = (
            weakref.WeakValueDictionary())
        """One object per distinct window among the shares held (a fleet grants the same
        few windows over and over: 5 051 windows for 90 483 shares at 1 M events). Keyed
        by the window's fields, not by the window: a key is held strongly, so keyed by
        itself each window ever granted stayed (222 k at 10 M events, ~80 MB of a fold's
        RSS with the allocator's fragmentation)."""
        self.changes: dict[ShareKey, Share | Patch | None] = {}
        """What each share a fold (or a settle) changed is now, since the book was last
        written (`take_changes`): its state, held or not; None: gone for good (revoked,
        made permanent, finished); a `Patch`: marks for a share whose state only the book
        knows."""
        self.notes = notes
        self._noting = notes

    # -- folding the log -----------------------------------------------------------------

    def fold(self, events: Iterable[LoggedEvent]) -> None:
        """Fold `events`; a read that says how far it looked (`ShareRead.reached`) moves
        the position there, past the events that were not share events."""
        for logged in events:
            self._fold_one(logged)
            self.position = max(self.position, logged.position)
        if isinstance(events, ShareRead):
            self.position = max(self.position, events.reached)

    def _fold_one(self, logged: LoggedEvent) -> None:
        event = _event_of(logged)
        if isinstance(event, ev.AccessGranted):
            window = Window.from_data({
                "valid_from": event.valid_from, "valid_until": event.valid_until,
                "schedule": event.schedule.model_dump() if event.schedule else None})
            key = (event.charger_id, event.user_id)
            if window.permanent:
                self._drop(key)
            else:
                at = logged.head.time
                window = self._interned(window)
                self._put(key, Share(window, in_effect(window, at), at, at))
            return
        if isinstance(event, ev.AccessRevoked):
            self._drop((event.charger_id, event.user_id))
            return
        if not isinstance(event, _MARKS):
            return
        key = (event.charger_id, event.user_id)
        mark = (Patch(noticed=True) if isinstance(event, ev.ShareEnding) else
                Patch(isinstance(event, ev.ShareCameIntoEffect), event.at))
        share = self.shares.get(key)
        if share is None:
            noted = self.changes.get(key, Patch())
            if noted is None or not self._noting:  # revoked, or finished before
                return
            if isinstance(noted, Patch):  # only the book knows the share, if anyone does
                mark.apply(noted)
                self.changes[key] = noted
                return
            share = noted  # let go beyond the horizon since the book was last written
        mark.apply(share)
        self._put(key, share)

    def restore(self, position: int, shares: Iterable[tuple[ShareKey, Share]],
                stale: Collection[ShareKey] = ()) -> None:
        """Hold `shares` as a fold up to `position` left them (from the book, at a start or
        for a new horizon). Not noted, the book has them already, but for the `stale`
        ones (their due time in the book is not known: `book.STALE`)."""
        try:
            for key, share in shares:
                self._noting = self.notes and key in stale
                share.window = self._interned(share.window)
                self._put(key, share)
        finally:
            self._noting = self.notes
        self.position = position

    def _interned(self, window: Window) -> Window:
        return self._windows.setdefault(
            (window.valid_from, window.valid_until, window.schedule), window)

    def take_changes(self) -> dict[ShareKey, Share | Patch | None]:
        """The notes since the last take (for the book), and none kept."""
        changes, self.changes = self.changes, {}
        return changes

    def give_back(self, changes: dict[ShareKey, Share | Patch | None]) -> None:
        """Notes taken but not written (the book's write failed): noted again, under any
        newer ones."""
        self.changes = {**changes, **self.changes}

    # -- what is due ---------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        """The earliest due time of any share (None: nothing is ever due)."""
        self._skip_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: datetime) -> list[tuple[ShareKey, datetime]]:
        """The shares due at `now` and when each was due, earliest first. They leave the
        heap: folding their new events (or `settle`) puts them back."""
        due: list[tuple[ShareKey, datetime]] = []
        while (at := self.next_due()) is not None and at <= now:
            _at, _n, key = heapq.heappop(self._heap)
            del self._entry[key]
            due.append((key, at))
        return due

    def settle(self, key: ShareKey, at: datetime) -> None:
        """The aggregate had nothing to append for `key` at its due time `at` (another
        instance appended it, and the log will show it; or the notice of a share that
        ended first): not due at `at` again."""
        share = self.shares.get(key)
        if share is not None:
            share.settled |= {at}
            self._put(key, share)

    def settle_notice(self, key: ShareKey, now: datetime) -> None:
        """The aggregate appended no notice for `key` at `now`: if it was due by then, it
        never will be (the share ended first, or another instance gave it)."""
        share = self.shares.get(key)
        notice_at = None if share is None else share.notice_at(self.notice)
        if notice_at is not None and notice_at <= now:
            self.settle(key, notice_at)

    def retry(self, key: ShareKey) -> None:
        """Appending for `key` failed: due again as it was."""
        share = self.shares.get(key)
        if share is not None:
            self._put(key, share)

    # -- keeping the heap ----------------------------------------------------------------

    def _put(self, key: ShareKey, share: Share) -> None:
        finished, due = share.plan(self.notice)
        if finished:
            self._drop(key)
            return
        if self._noting:
            self.changes[key] = share
        if due is not None and self.until is not None and due > self.until:
            self._let_go(key)  # beyond the horizon: the book keeps it for a later one
            return
        self.shares[key] = share
        if due is None:
            self._entry.pop(key, None)
            return
        n = next(self._counter)
        self._entry[key] = n
        heapq.heappush(self._heap, (due, n, key))
        if self.capacity is not None and len(self._entry) > self._bring_in_above:
            self._bring_in(self.capacity)
        elif len(self._heap) > 2 * len(self._entry) + 1024:  # mostly superseded entries
            self._heap = self._live()
            heapq.heapify(self._heap)

    def _bring_in(self, capacity: int) -> None:
        """Bring the horizon in to the due time of the `capacity`-th share due and let go
        of those due later (every share due at that very time stays: the horizon is a
        time). A horizon sized in time holds every share with a boundary within it: every
        recurring schedule has one each day, and after downtime every share whose boundary
        passed meanwhile is due at once (tens of thousands at 10 M events, ~2 KB each).

        Only shares with a due time in the heap are let go: one popped (being appended)
        or with nothing due is kept, or its settling would be lost. Letting go loses
        nothing: a noting timetable's shares are each in the book as written, or noted
        since (`changes`)."""
        live = sorted(self._live())
        edge = live[capacity - 1][0]
        kept = [e for e in live if e[0] <= edge]
        for _due, _n, key in live[len(kept):]:
            self._let_go(key)
        self._heap = kept  # sorted: a heap already
        self.until = edge if self.until is None else min(self.until, edge)
        # Amortised: the next bring-in when as many again are held (more than twice the
        # capacity when many are due at the edge, or every put would sort them all).
        self._bring_in_above = len(kept) + capacity

    def _live(self) -> list[tuple[datetime, int, ShareKey]]:
        """The heap's entries that stand for their share's due time."""
        return [e for e in self._heap if self._entry.get(e[2]) == e[1]]

    def _drop(self, key: ShareKey) -> None:
        self._let_go(key)
        if self._noting:
            self.changes[key] = None

    def _let_go(self, key: ShareKey) -> None:
        self.shares.pop(key, None)
        self._entry.pop(key, None)

    def _skip_stale(self) -> None:
        heap = self._heap
        while heap and self._entry.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)


def _event_of(logged: LoggedEvent) -> AccessEvent:
    if logged.event is not None:
        return logged.event
    return EVENT_TYPES[logged.head.type].model_validate(logged.data)
