"""The share book: every time-bound share with its next due time, kept in PostgreSQL, so
a new horizon's timetable (and a start's) is read by the due-time index instead of
folded from the whole log.

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

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from services.access.domain.windows import Window
from services.access.schedule.shares import Patch, Share, ShareKey, Timetable
from services.access.store.application import EVENTS_TABLE

log = logging.getLogger(__name__)

NAME = "schedule"
STALE = datetime(1970, 1, 1, tzinfo=UTC)
"""The due time of a row a `Patch` changed: due at once (long before any share was
granted), so the next timetable to read it works out its real due time (the book cannot:
that is the window's arithmetic)."""

Changes = Mapping[ShareKey, Share | Patch | None]


class Due(list[tuple[ShareKey, Share]]):
    """Shares read from the book, and which of them a `Patch` left without a known due
    time (`STALE`): a timetable holding them notes them, so the book learns it."""

    def __init__(self, shares: Iterable[tuple[ShareKey, Share]], stale: set[ShareKey]) -> None:
        super().__init__(shares)
        self.stale = stale


class Book(Protocol):
    """Where the scheduler keeps the shares beyond its horizon (`ShareBook`; in memory,
    `MemoryShareBook`)."""

    async def setup(self) -> None: ...

    async def resume(self, notice: timedelta, until: datetime) -> Timetable | None:
        """The timetable for a start: the shares due by `until`, at the book's position;
        None when the book cannot serve (it is then emptied: fold the log from the start)."""

    async def write(self, position: int, notice: timedelta, changes: Changes) -> None:
        """The notes of a fold up to `position`, and the position."""

    async def due_by(self, until: datetime) -> Due:
        """Every share due by `until`, as last written."""


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

    async def resume(self, notice: timedelta, until: datetime) -> Timetable | None:
        if self.position is None or self.notice != notice:
            self.rows, self.position = {}, None
            return None
        timetable = Timetable(notice, until, notes=True)
        due = await self.due_by(until)
        timetable.restore(self.position, due, due.stale)
        return timetable

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

    async def due_by(self, until: datetime) -> Due:
        rows = [(key, due, share) for key, (_position, due, share) in self.rows.items()
                if due is not None and due <= until]
        return Due([(key, dataclasses.replace(share)) for key, _due, share in rows],
                   {key for key, due, _share in rows if due == STALE})


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class ShareBook:
    """The book as two tables, `{name}_shares` (a row per share, indexed by due time) and
    `{name}_book` (the position they hold the log to, and the notice they were made for)."""

    def __init__(self, pool: asyncpg.Pool, name: str = NAME) -> None:
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a plain lower-case name")
        self._pool = pool
        self._shares, self._book = f"{name}_shares", f"{name}_book"
        self._columns = ("charger_id, user_id, position, due_at, share_window, in_effect, "
                         "since, granted_at, noticed, settled")
        self._select = f"SELECT {self._columns} FROM {self._shares} WHERE due_at <= $1"  # noqa: S608

    async def setup(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(f"""
                CREATE TABLE IF NOT EXISTS {self._shares} (
                    charger_id uuid NOT NULL,
                    user_id uuid NOT NULL,
                    position bigint NOT NULL,
                    -- NULL: nothing due until the log says more (every due time settled).
                    due_at timestamptz,
                    -- The window and the settled times as JSON kept as text: no
                    -- statement looks inside them.
                    share_window text NOT NULL,
                    in_effect boolean NOT NULL,
                    since timestamptz NOT NULL,
                    granted_at timestamptz NOT NULL,
                    noticed boolean NOT NULL,
                    settled text NOT NULL,
                    PRIMARY KEY (charger_id, user_id)
                );
                CREATE INDEX IF NOT EXISTS {self._shares}_due ON {self._shares} (due_at)
                    WHERE due_at IS NOT NULL;
                CREATE TABLE IF NOT EXISTS {self._book} (
                    one boolean PRIMARY KEY DEFAULT true CHECK (one),
                    position bigint NOT NULL,
                    notice_seconds double precision NOT NULL,
                    written_at timestamptz NOT NULL DEFAULT now()
                );
                -- The timetable saved whole before the book (superseded by it).
                DROP TABLE IF EXISTS schedule_timetables;
            """)

    async def resume(self, notice: timedelta, until: datetime) -> Timetable | None:
        async with self._pool.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                book = await conn.fetchrow(
                    f"SELECT position, notice_seconds, "  # noqa: S608 - our own tables
                    f"(SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}) AS head "
                    f"FROM {self._book}")
                rows = [] if book is None else await conn.fetch(self._select, until)
            why_not = (
                "nothing is written in it yet" if book is None else
                "it was made for another notice" if book["notice_seconds"]
                != notice.total_seconds() else
                "the log does not reach its position" if book["head"] < book["position"] else
                None)
            if book is None or why_not is not None:
                log.info("the share book cannot serve (%s): folding the log from the start",
                         why_not)
                async with conn.transaction():
                    await conn.execute(f"TRUNCATE {self._shares}, {self._book}")
                return None
        # In a thread: where a horizon holds every share (a fleet of weekly schedules),
        # this is seconds of work (106 k shares: 3.8 s) the event loop must not wait on.
        return await asyncio.to_thread(_timetable_of, rows, notice, until, int(book["position"]))

    async def write(self, position: int, notice: timedelta, changes: Changes) -> None:
        # Everything read off the shares before any await: they change as the log is folded.
        written = taken(changes, notice)
        windows: dict[Window, str] = {}
        kept = [(charger, user, due, windows.get(share.window) or windows.setdefault(
                    share.window, json.dumps(share.window.to_data())),
                 share.in_effect, share.since, share.granted_at, share.noticed,
                 json.dumps(sorted(t.isoformat() for t in share.settled)) if share.settled
                 else "[]")
                for (charger, user), due, share in written.kept]
        gone = _columns(written.gone, 2)
        patched = _columns([(c, u, p.in_effect, p.since, p.noticed)
                            for (c, u), p in written.patched], 5)
        async with self._pool.acquire() as conn, conn.transaction():
            if kept:
                await conn.execute(self._upsert, position, *_columns(kept, 9))
            if written.gone:
                await conn.execute(self._delete, position, *gone)
            if written.patched:
                await conn.execute(self._patch, position, *patched, STALE)
            await conn.execute(
                f"INSERT INTO {self._book} (position, notice_seconds) VALUES ($1, $2) "  # noqa: S608
                f"ON CONFLICT (one) DO UPDATE SET written_at = now(), "
                f"position = greatest({self._book}.position, EXCLUDED.position), "
                f"notice_seconds = EXCLUDED.notice_seconds", position, notice.total_seconds())

    async def due_by(self, until: datetime) -> Due:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(self._select, until)
        return await asyncio.to_thread(_shares_of, rows)

    @property
    def _upsert(self) -> str:
        return (f"INSERT INTO {self._shares} ({self._columns}) "  # noqa: S608
                f"SELECT c, u, $1, d, w, i, s, g, n, st FROM unnest($2::uuid[], $3::uuid[], "
                f"$4::timestamptz[], $5::text[], $6::boolean[], $7::timestamptz[], "
                f"$8::timestamptz[], $9::boolean[], $10::text[]) AS r(c, u, d, w, i, s, g, n, st) "
                f"ON CONFLICT (charger_id, user_id) DO UPDATE SET position = EXCLUDED.position, "
                f"due_at = EXCLUDED.due_at, share_window = EXCLUDED.share_window, "
                f"in_effect = EXCLUDED.in_effect, since = EXCLUDED.since, "
                f"granted_at = EXCLUDED.granted_at, noticed = EXCLUDED.noticed, "
                f"settled = EXCLUDED.settled "
                f"WHERE {self._shares}.position <= EXCLUDED.position")

    @property
    def _delete(self) -> str:
        return (f"DELETE FROM {self._shares} t USING unnest($2::uuid[], $3::uuid[]) AS g(c, u) "  # noqa: S608
                f"WHERE t.charger_id = g.c AND t.user_id = g.u AND t.position <= $1")

    @property
    def _patch(self) -> str:
        return (f"UPDATE {self._shares} t SET position = $1, due_at = $7, "  # noqa: S608
                f"in_effect = coalesce(p.i, t.in_effect), since = coalesce(p.s, t.since), "
                f"noticed = t.noticed OR p.n "
                f"FROM unnest($2::uuid[], $3::uuid[], $4::boolean[], $5::timestamptz[], "
                f"$6::boolean[]) AS p(c, u, i, s, n) "
                f"WHERE t.charger_id = p.c AND t.user_id = p.u AND t.position <= $1")


def _columns(rows: list[Any], width: int) -> list[list[Any]]:
    """Rows as one list per column (for `unnest`); keys (charger, user) count as two."""
    flat = [(*row[0], *row[1:]) if isinstance(row[0], tuple) else tuple(row) for row in rows]
    return [[row[i] for row in flat] for i in range(width)]


def _timetable_of(rows: Iterable[asyncpg.Record], notice: timedelta, until: datetime,
                  position: int) -> Timetable:
    timetable = Timetable(notice, until, notes=True)
    due = _shares_of(rows)
    timetable.restore(position, due, due.stale)
    return timetable


def _shares_of(rows: Iterable[asyncpg.Record]) -> Due:
    windows: dict[str, Window] = {}
    shares, stale = [], set()
    for row in rows:
        text = row["share_window"]
        window = windows.get(text)
        if window is None:
            window = windows[text] = Window.from_data(json.loads(text))
        text = row["settled"]
        settled = (frozenset() if text == "[]" else
                   frozenset(datetime.fromisoformat(t) for t in json.loads(text)))
        # asyncpg's own UUID type: the store's transcoder knows only the standard one.
        key = (UUID(bytes=row["charger_id"].bytes), UUID(bytes=row["user_id"].bytes))
        shares.append((key, Share(window, row["in_effect"], row["since"], row["granted_at"],
                                  row["noticed"], settled)))
        if row["due_at"] == STALE:
            stale.add(key)
    return Due(shares, stale)
