"""Rebuilding the read models from the whole log into fresh tables, then swapping them in.

The replay writes into a staging schema, created rows by COPY. The access rows are
recomputed per segment as the live projection does, since `access_history` records each
change at the command that made it (a whole-table pass at the end, which was faster,
cannot say when each row held). The indexes the replay never reads are made after it, and
the new tables vacuumed and analyzed, two tables at a time (`finish`); the swap
then happens in one transaction that holds the live tracking row: it applies whatever
arrived meanwhile, deletes the live tracking row (so a live runner blocked on it fails,
backs off and re-reads its position from the new tables) and renames the schemas. The
old tables are dropped afterwards. Queries keep answering from the old tables until the
swap commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Iterator, Sequence

import asyncpg

from services.access.eventlog.reader import LogReader
from services.access.projection.apply import apply
from services.access.projection.changes import Foldable
from services.access.projection.finishing import finish, set_aside
from services.access.projection.schema import PROJECTION_NAME, create_schema
from services.access.projection.sql import DEFAULT_SCHEMA, Connection, checked_schema, render

log = logging.getLogger(__name__)

ANALYZE_FIRST = 1_000
ANALYZE_GROWTH = 4
"""The staging tables are analyzed after 1 k events replayed, then each time the count
has grown fourfold (4 k, 16 k, ...): a few times per rebuild, whatever its size."""

Progress = Callable[[int, int], None]
"""Called with (position reached, events replayed so far)."""


async def rebuild(
    pool: asyncpg.Pool,
    read_log: LogReader[Foldable],
    *,
    schema: str = DEFAULT_SCHEMA,
    batch_size: int = 2000,
    progress: Progress | None = None,
) -> int:
    """Replay the log into fresh tables and swap them in as `schema`; return the position."""
    staging, retired = _staging_and_retired(schema)
    async with pool.acquire() as conn:
        with bulk_gc():
            position = await build(conn, pool, read_log, staging, batch_size=batch_size,
                                   progress=progress)
        await create_schema(conn, schema)
        position = await _swap(conn, read_log, schema, batch_size, position)
        await conn.execute(render("DROP SCHEMA IF EXISTS {s} CASCADE", retired))
    log.info("read models rebuilt up to position %d", position)
    return position


async def build(
    conn: Connection,
    pool: asyncpg.Pool,
    read_log: LogReader[Foldable],
    target: str,
    *,
    batch_size: int = 2000,
    progress: Progress | None = None,
    upto: int | None = None,
) -> int:
    """Replay the log (up to position `upto`, if given) into fresh tables in schema `target`
    on `conn`, then make the indexes set aside and vacuum every table on connections of
    `pool` (`finish`).

    Whatever `target` held is dropped first. Nothing is swapped: `rebuild` does that, and
    a check compares `target` with the live schema instead. Returns the position reached.
    """
    await conn.execute(render("DROP SCHEMA IF EXISTS {s} CASCADE", target))
    await create_schema(conn, target)
    remake = await set_aside(conn, target)
    # The access rows are kept as the batches go (access_history records each change
    # where it happened), as the live projection keeps them: no whole-table pass at the end.
    position = await _replay(conn, read_log, target, batch_size, progress, upto)
    await finish(pool, target, remake)
    return position


@contextlib.contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect garbage rarely while replaying: a replay allocates millions of short-lived
    objects next to batches of live ones, and the default thresholds had the cyclic
    collector re-scan them often enough to cost a third of the replay's CPU. Reference
    counting still frees everything acyclic at once; the old thresholds come back after.
    """
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _staging_and_retired(schema: str) -> tuple[str, str]:
    staging, retired = schema + "_rebuild", schema + "_retired"
    checked_schema(staging)
    checked_schema(retired)
    return staging, retired


async def _replay(
    conn: Connection,
    read_log: LogReader[Foldable],
    staging: str,
    batch_size: int,
    progress: Progress | None,
    upto: int | None,
) -> int:
    """Apply batch after batch; the next batch is read (and decoded) while one is written.

    `read_log` takes a connection of its own, so the database writes batch N while this
    process decodes batch N+1: the two halves of the work overlap instead of adding up.
    """
    position, count, analyzed_at = 0, 0, ANALYZE_FIRST // ANALYZE_GROWTH
    held: list[Foldable] = []  # events `apply` left for the next batch (a command's start)
    pending: asyncio.Future[Sequence[Foldable]] = asyncio.ensure_future(
        read_log(0, batch_size)
    )
    try:
        while True:
            read = await pending
            if upto is not None:
                read = [e for e in read if e.position <= upto]
            events = [*held, *read]
            if not events:
                return position
            if read:
                pending = asyncio.ensure_future(read_log(read[-1].position, batch_size))
            else:
                pending = asyncio.ensure_future(_nothing())
            position = await apply(conn, events, staging, defer_access=True,
                                   may_continue=len(read) >= batch_size)
            held = [e for e in events if e.position > position]
            count += len(events) - len(held)
            if count >= analyzed_at * ANALYZE_GROWTH:
                await analyze(conn, staging)
                analyzed_at = count
            if progress is not None:
                progress(position, count)
    finally:
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending


async def analyze(conn: Connection, schema: str) -> None:
    """Give the planner the staging tables' statistics. They are new and fill within
    minutes, before autovacuum ever analyzes them, so without this every statement is
    planned for empty tables: at 100 k events a list lookup sorted the whole entries
    table on disk (49 ms where an index takes 0.1), and the replay ran at half speed."""
    tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    for row in tables:
        await conn.execute(f"ANALYZE {checked_schema(schema)}.{checked_schema(row['tablename'])}")


async def _nothing() -> Sequence[Foldable]:
    return []


async def _swap(
    conn: Connection, read_log: LogReader[Foldable], schema: str, batch_size: int, position: int
) -> int:
    staging, retired = _staging_and_retired(schema)
    async with conn.transaction():
        await conn.execute(
            render("SELECT 1 FROM {s}.tracking WHERE projection = $1 FOR UPDATE", schema),
            PROJECTION_NAME,
        )
        while events := await read_log(position, batch_size):
            position = await apply(conn, events, staging,
                                   may_continue=len(events) >= batch_size)
        await conn.execute(
            render("DELETE FROM {s}.tracking WHERE projection = $1", schema), PROJECTION_NAME
        )
        await conn.execute(render("DROP SCHEMA IF EXISTS {s} CASCADE", retired))
        await conn.execute(
            f"ALTER SCHEMA {checked_schema(schema)} RENAME TO {checked_schema(retired)}"
        )
        await conn.execute(
            f"ALTER SCHEMA {checked_schema(staging)} RENAME TO {checked_schema(schema)}"
        )
    return position
