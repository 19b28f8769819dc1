"""The share book: every time-bound share with its next due time, kept in PostgreSQL
(`book_table.ShareBook`), so a new horizon's timetable (and a start's) is read by the
due-time index instead of folded from the whole log. Here: its rules, in memory
(`MemoryShareBook`), and what a scheduler asks of one (`Book`).

The scheduler holds only the shares due within its horizon. Before the book, each new
horizon (every half horizon) and every start that could not resume folded the whole log
again to find the shares come due meanwhile: 11.6 s of a core at 1 M events, and growing
with the log. Now the timetable notes what each fold changes (`Timetable.changes`), the
scheduler writes the notes here, and a new horizon takes the rows due by its end: work
that grows with the shares due in a horizon, not with the history.

What the book holds at its `position`: for every share the log's events up to there left
time-bound and unfinished, its state as a fold would have it (window, in effect or not
since when, notice given, due times found settled), or a later one. Rows and position
are written in one transaction, so a crash loses only notes not yet written, and the
restart folds the log from the position again. Each row carries the position it was
written at and is never replaced by an older one: instances racing (a leader's term
overlapping the next for a moment) fold the same log, so a newer row is the same fold
taken further, and folding on from an older position onto it lands on the same state
(a grant replaces a share's state, and the marks set absolute values).

A book written under another notice setting cannot serve (its due times are off): it is
emptied and the log folded from the start, once, as on the first start of a deployment.
Every instance must run with the same notice (they would append different notices).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.access.schedule.share import Patch, Share, ShareKey
from services.access.schedule.shares import Timetable

NAME = "schedule"
STALE = datetime(1970, 1, 1, tzinfo=UTC)
"""The due time of a row a `Patch` changed: due at once (long before any share was
granted), so the next timetable to read it works out its real due time (the book cannot:
that is the window's arithmetic)."""

Changes = Mapping[ShareKey, Share | Patch | None]


class Due(list[tuple[ShareKey, Share]]):
    """Shares read from the book, which of them a `Patch` left without a known due
    time (`STALE`): a timetable holding them notes them, so the book learns it; and the
    horizon they cover (`until`): the one asked for, or, when a read was cut at its limit,
    the due time of the last share read (every share due then was read too)."""

    def __init__(self, shares: Iterable[tuple[ShareKey, Share]], stale: set[ShareKey],
                 until: datetime) -> None:
        super().__init__(shares)
        self.stale = stale
        self.until = until


def cut(rows: list[tuple[ShareKey, datetime, Share]], until: datetime, limit: int | None
        ) -> tuple[list[tuple[ShareKey, datetime, Share]], datetime]:
    """Rows due by `until` in due-time order, cut to `limit` and the rows due at the same
    time as the last one kept; and the horizon they cover. The `STALE` rows are all read
    and not counted: their due time is not known (the timetable works it out), and as the
    edge, it would let go of every share."""
    rows = sorted((r for r in rows if r[1] <= until), key=lambda r: r[1])
    known = [r for r in rows if r[1] != STALE]
    if limit is None or len(known) < limit:
        return rows, until
    edge = known[limit - 1][1]
    return [r for r in rows if r[1] <= edge], edge


class Book(Protocol):
    """Where the scheduler keeps the shares beyond its horizon (`ShareBook`; in memory,
    `MemoryShareBook`)."""

    async def setup(self) -> None: ...

    async def resume(self, notice: timedelta, until: datetime,
                     capacity: int | None = None) -> Timetable | None:
        """The timetable for a start: the shares due by `until` (the first `capacity` of
        them, `due_by`), at the book's position; None when the book cannot serve (it is
        then emptied: fold the log from the start)."""

    async def write(self, position: int, notice: timedelta, changes: Changes) -> None:
        """The notes of a fold up to `position`, and the position."""

    async def due_by(self, until: datetime, limit: int | None = None) -> Due:
        """Every share due by `until`, as last written; with a `limit`, the first `limit`
        due and any due at the same time as the last of them (`cut`)."""


@dataclass(frozen=True)
class Written:
    """A write's notes taken apart, with each share's due time. The shares are the
    timetable's own, which change as the log is folded: a book reads them before any
    await."""

    kept: list[tuple[ShareKey, datetime | None, Share]]
    gone: list[ShareKey]
    patched: list[tuple[ShareKey, Patch]]


def taken(changes: Changes, notice: timedelta) -> Written:
    kept, gone, patched = [], [], []
    for key, change in changes.items():
        if change is None:
            gone.append(key)
        elif isinstance(change, Patch):
            patched.append((key, change))
        else:
            kept.append((key, change.due(notice), change))
    return Written(kept, gone, patched)


class MemoryShareBook:
    """The book's rules in memory: a scheduler without PostgreSQL (unit tests) and the
    reference the table is checked against. A restart of its process starts it empty."""

    def __init__(self) -> None:
        self.rows: dict[ShareKey, tuple[int, datetime | None, Share]] = {}
        self.position: int | None = None
        self.notice: timedelta | None = None
        self.writes = 0

    async def setup(self) -> None:
        return None

    async def resume(self, notice: timedelta, until: datetime,
                     capacity: int | None = None) -> Timetable | None:
        if self.position is None or self.notice != notice:
            self.rows, self.position = {}, None
            return None
        return timetable_of(await self.due_by(until, capacity), notice, self.position, capacity)

    async def write(self, position: int, notice: timedelta, changes: Changes) -> None:
        written = taken(changes, notice)
        for key, due, share in written.kept:
            if self._newer_than(key, position):
                continue
            self.rows[key] = (position, due, dataclasses.replace(share))
        for key in written.gone:
            if not self._newer_than(key, position):
                self.rows.pop(key, None)
        for key, patch in written.patched:
            row = self.rows.get(key)
            if row is not None and row[0] <= position:
                share = dataclasses.replace(row[2])
                patch.apply(share)
                self.rows[key] = (position, STALE, share)
        self.position = max(position, self.position or 0)
        self.notice = notice
        self.writes += 1

    def _newer_than(self, key: ShareKey, position: int) -> bool:
        row = self.rows.get(key)
        return row is not None and row[0] > position

    async def due_by(self, until: datetime, limit: int | None = None) -> Due:
        rows, until = cut([(key, due, share) for key, (_position, due, share)
                           in self.rows.items() if due is not None], until, limit)
        return Due([(key, dataclasses.replace(share)) for key, _due, share in rows],
                   {key for key, due, _share in rows if due == STALE}, until)


def timetable_of(due: Due, notice: timedelta, position: int, capacity: int | None
                 ) -> Timetable:
    """A start's timetable: the shares read, at the book's position, until the horizon
    they cover."""
    timetable = Timetable(notice, due.until, notes=True, capacity=capacity)
    timetable.restore(position, due, due.stale)
    return timetable
