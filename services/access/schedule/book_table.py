"""The share book as two PostgreSQL tables: `{name}_shares` (a row per time-bound share,
indexed by due time) and `{name}_book` (the position they hold the log to, and the notice
they were made for). The rules are `book.MemoryShareBook`'s; an integration test holds
the two to the same answers under the same writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from services.access.domain.windows import Window
from services.access.schedule.book import NAME, STALE, Changes, Due, taken, timetable_of
from services.access.schedule.share import Share
from services.access.schedule.shares import Timetable
from services.access.store.application import EVENTS_TABLE

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def book_tables(name: str = NAME) -> tuple[str, str]:
    """The book's two tables: its shares, and the position they hold the log to."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a plain lower-case name")
    return f"{name}_shares", f"{name}_book"


class ShareBook:
    """The book as two tables, `{name}_shares` (a row per share, indexed by due time) and
    `{name}_book` (the position they hold the log to, and the notice they were made for)."""

    def __init__(self, pool: asyncpg.Pool, name: str = NAME) -> None:
        self._pool = pool
        self._shares, self._book = book_tables(name)
        self._columns = ("charger_id, user_id, position, due_at, share_window, in_effect, "
                         "since, granted_at, noticed, settled")
        # $2: the limit less one, or NULL for none (`book.cut`): the rows due by the
        # limit-th's due time, found by the due-time index, the `STALE` ($3) not counted.
        self._select = (
            f"SELECT {self._columns} FROM {self._shares} WHERE due_at <= least($1, "  # noqa: S608
            f"(SELECT due_at FROM {self._shares} WHERE due_at <= $1 AND due_at > $3 "
            f"AND $2::bigint IS NOT NULL ORDER BY due_at OFFSET $2 LIMIT 1))")
        self._upsert, self._delete, self._patch = (
            self._upsert_sql(), self._delete_sql(), self._patch_sql())

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
            """)
            if self._shares == book_tables()[0]:  # the service's book, not a bench's copy
                # The timetable saved whole before the book (superseded by it).
                await conn.execute("DROP TABLE IF EXISTS schedule_timetables")

    async def resume(self, notice: timedelta, until: datetime,
                     capacity: int | None = None) -> Timetable | None:
        async with self._pool.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                book = await conn.fetchrow(
                    f"SELECT position, notice_seconds, "  # noqa: S608 - our own tables
                    f"(SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}) AS head "
                    f"FROM {self._book}")
                if book is None:  # nothing written yet: nothing to empty either
                    log.info("the share book is empty: folding the log from the start")
                    return None
                why_not = (
                    f"it was made for a notice of {book['notice_seconds'] / 3600:g} h, this "
                    f"instance gives {notice.total_seconds() / 3600:g} h: every instance "
                    "needs the same SHARE_ENDING_NOTICE_HOURS" if book["notice_seconds"]
                    != notice.total_seconds() else
                    "the log does not reach its position" if book["head"] < book["position"]
                    else None)
                # Read only when the book serves (the same snapshot as its position).
                rows = [] if why_not else await conn.fetch(self._select, until,
                                                            _offset(capacity), STALE)
            if why_not is not None:
                log.warning("the share book cannot serve (%s): folding the log from the "
                            "start", why_not)
                async with conn.transaction():
                    await conn.execute(f"TRUNCATE {self._shares}, {self._book}")
                return None
        # In a thread: where a horizon holds every share (a fleet of weekly schedules),
        # this is seconds of work (106 k shares: 3.8 s) the event loop must not wait on.
        return await asyncio.to_thread(_timetable_of, rows, notice, until,
                                       int(book["position"]), capacity)

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

    async def due_by(self, until: datetime, limit: int | None = None) -> Due:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(self._select, until, _offset(limit), STALE)
        return await asyncio.to_thread(_shares_of, rows, until, limit)

    def _upsert_sql(self) -> str:
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

    def _delete_sql(self) -> str:
        return (f"DELETE FROM {self._shares} t USING unnest($2::uuid[], $3::uuid[]) AS g(c, u) "  # noqa: S608
                f"WHERE t.charger_id = g.c AND t.user_id = g.u AND t.position <= $1")

    def _patch_sql(self) -> str:
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


def _timetable_of(rows: Sequence[asyncpg.Record], notice: timedelta, until: datetime,
                  position: int, capacity: int | None) -> Timetable:
    """The rows read and each one's due time worked out (`restore`), off the loop."""
    return timetable_of(_shares_of(rows, until, capacity), notice, position, capacity)


def _offset(limit: int | None) -> int | None:
    if limit is not None and limit < 1:
        raise ValueError("a limit of no rows")
    return None if limit is None else limit - 1


def _shares_of(rows: Sequence[asyncpg.Record], until: datetime, limit: int | None) -> Due:
    """The rows as shares; `until` as `book.cut` has it (the rows come cut already)."""
    known = [row["due_at"] for row in rows if row["due_at"] != STALE]
    if limit is not None and len(known) >= limit:
        until = max(known)
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
    return Due(shares, stale, until)
