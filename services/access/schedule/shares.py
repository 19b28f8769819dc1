"""What the scheduler knows of the time-bound shares, and when each next needs it.

Folded from the share events of the log, the same way the Charger aggregate folds them,
into one `Share` per (charger, user) share, each with its next due time (`share.py`),
earliest first (`due_times.py`).

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

import weakref
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from charger_access_client import access_events as ev
from charger_access_client.access_events import EVENT_TYPES, AccessEvent
from services.access.domain.weekly import Schedule
from services.access.domain.windows import Window, in_effect
from services.access.eventlog.values import LoggedEvent
from services.access.schedule.due_times import DueTimes
from services.access.schedule.share import Patch, Share, ShareKey

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
        self._due: DueTimes[ShareKey] = DueTimes()
        """The held shares with a due time (one popped to be appended has none until its
        new events are folded, or it is settled)."""
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
        return self._due.next_due()

    def pop_due(self, now: datetime) -> list[tuple[ShareKey, datetime]]:
        """The shares due at `now` and when each was due, earliest first. They leave the
        heap: folding their new events (or `settle`) puts them back."""
        return self._due.pop_due(now)

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

    # -- keeping the due times ----------------------------------------------------------------

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
            self._due.remove(key)
            return
        self._due.put(key, due)
        if self.capacity is not None and len(self._due) > self._bring_in_above:
            self._bring_in(self.capacity)

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
        live = sorted(self._due.live())
        edge = live[capacity - 1][0]
        kept = [e for e in live if e[0] <= edge]
        for _due, _n, key in live[len(kept):]:
            self.shares.pop(key, None)
        self._due.keep(kept)
        self.until = edge if self.until is None else min(self.until, edge)
        # Amortised: the next bring-in when as many again are held (more than twice the
        # capacity when many are due at the edge, or every put would sort them all).
        self._bring_in_above = len(kept) + capacity

    def _drop(self, key: ShareKey) -> None:
        self._let_go(key)
        if self._noting:
            self.changes[key] = None

    def _let_go(self, key: ShareKey) -> None:
        self.shares.pop(key, None)
        self._due.remove(key)


def _event_of(logged: LoggedEvent) -> AccessEvent:
    if logged.event is not None:
        return logged.event
    return EVENT_TYPES[logged.head.type].model_validate(logged.data)
