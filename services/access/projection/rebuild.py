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
import functools
import gc
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence

import asyncpg

from services.access.eventlog.reader import LogReader
from services.access.projection.apply import apply
from services.access.projection.changes import Foldable
from services.access.projection.schema import PROJECTION_NAME, create_schema
from services.access.projection.sql import DEFAULT_SCHEMA, Connection, checked_schema, render

log = logging.getLogger(__name__)

ANALYZE_FIRST = 1_000
ANALYZE_GROWTH = 4
"""The staging tables are analyzed after 1 k events replayed, then each time the count
has grown fourfold (4 k, 16 k, ...): a few times per rebuild, whatever its size."""

AFTER_REPLAY = ("access_history_pkey", "local_list_entries_added",
                "local_list_entries_removed", "local_list_versions_position",
                "log_positions_time")
"""Indexes the replay never reads (the 10 M fleet's replay scanned none of them:
`pg_stat_user_indexes`), only the service's reads do: an access row's history, a list's
history by version, the publisher's catch-up by position, the log by time. They are made
once the replay is done, by one sort each, instead of being kept row by row, each insert
a random page of an index that outgrows the cache as the fleets do (at 10 M they are
~40 % of the read models' index bytes). `access_history`'s primary key is one of them:
its rows are only ever inserted (no ON CONFLICT), so it is checked when it is made."""

INDEX_MEMORY = "256MB"
"""`maintenance_work_mem` for building them: 10 M events' entries sort in memory."""

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
    remake = await _set_aside(conn, target)
    # The access rows are kept as the batches go (access_history records each change
    # where it happened), as the live projection keeps them: no whole-table pass at the end.
    position = await _replay(conn, read_log, target, batch_size, progress, upto)
    await finish(pool, target, remake)
    return position


FINISHING_CONNECTIONS = 2
"""Tables finished at once: the replay's process is idle by then, so the second core,
which only PostgreSQL can use, is free (~15 % of `make bench`'s rebuild was these
statements one after another: 0.31 s of 2.18; 0.19 s on two)."""


async def finish(pool: asyncpg.Pool, schema: str, remake: Sequence[tuple[str, str]]) -> None:
    """Make the indexes set aside (`(table, statement)` pairs), then vacuum each table
    (after a bulk load: until then no row is marked visible to all, so every read checks
    each row's transaction status and counts cannot be answered from an index alone;
    autovacuum would get to it in time, and is off on some servers, this project's CI
    machine among them; at 1 M events a charger's page took 0.42 ms before (p99 2.2) and
    0.15 after (p99 0.28), access at a moment 0.87 ms and 0.16), then analyze them. Each
    step a table at a time on each of `FINISHING_CONNECTIONS` connections of `pool`
    (fewer if the pool has no more free), and each step done before the next begins: a
    snapshot holds the oldest transaction running in *any* database, so an index being
    made or an ANALYZE beside a VACUUM holds its horizon back to that transaction and the
    vacuumed table's rows are not marked visible to all. Lazy vacuums ignore one another."""
    async with pool.acquire() as conn:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1",
                                  schema)
    names = [str(row["tablename"]) for row in tables]
    work = [(table, [statement for made_on, statement in remake if made_on == table])
            for table in names]
    work.sort(key=lambda table: -len(table[1]))  # the most indexes first: they end together

    async def make_indexes(conn: Connection, table: str, statements: Sequence[str]) -> None:
        if statements:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
                for statement in statements:
                    await conn.execute(statement)

    async def maintain(command: str, conn: Connection, table: str, _: object) -> None:
        await conn.execute(f"{command} {checked_schema(schema)}.{checked_schema(table)}")

    await _table_by_table(pool, work, make_indexes)
    await _table_by_table(pool, work, functools.partial(maintain, "VACUUM"))
    await _vacuum_again_where_needed(pool, schema)
    await _table_by_table(pool, work, functools.partial(maintain, "ANALYZE"))


async def _table_by_table(
    pool: asyncpg.Pool, work: Sequence[tuple[str, Sequence[str]]],
    step: Callable[[Connection, str, Sequence[str]], Awaitable[None]],
) -> None:
    """`step` for each `(table, statements)` of `work`, on up to `FINISHING_CONNECTIONS`."""
    queue = iter(work)

    async def worker() -> None:
        async with pool.acquire() as own:
            for table, statements in queue:
                await step(own, table, statements)

    try:
        async with asyncio.TaskGroup() as group:  # one failing cancels the other
            for _ in range(FINISHING_CONNECTIONS):
                group.create_task(worker())
    except ExceptionGroup as failed:  # what a caller of a one-connection finish would see
        raise failed.exceptions[0] from None


_NOT_ALL_VISIBLE = """
    SELECT c.relname, c.relpages, c.relallvisible FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relallvisible < c.relpages"""


async def _vacuum_again_where_needed(pool: asyncpg.Pool, schema: str) -> None:
    """A second vacuum, alone, of any table whose pages the first did not all mark visible
    to all. A vacuum beside another still holds its horizon for a moment at either end
    (its snapshot before it counts as a vacuum, its update of the database's frozen xid;
    seen in CI under load), a transaction of the live service in this database holds it
    for its length, and a page another process has pinned (the checkpointer writing it)
    is skipped. Logged, so it is seen."""
    async with pool.acquire() as conn:
        for row in await conn.fetch(_NOT_ALL_VISIBLE, schema):
            log.info("vacuuming %s again: %d of its %d pages were marked visible to all",
                     row["relname"], row["relallvisible"], row["relpages"])
            await conn.execute(
                f"VACUUM {checked_schema(schema)}.{checked_schema(row['relname'])}")


_INDEXES_SET_ASIDE = """
    SELECT i.tablename, i.indexname, i.indexdef, pg_get_constraintdef(c.oid) AS constraintdef
    FROM pg_indexes i
    JOIN pg_namespace n ON n.nspname = i.schemaname
    LEFT JOIN pg_constraint c ON c.conname = i.indexname AND c.connamespace = n.oid
    WHERE i.schemaname = $1 AND i.indexname = ANY($2::text[])"""


async def _set_aside(conn: Connection, schema: str) -> list[tuple[str, str]]:
    """Drop the `AFTER_REPLAY` indexes (or the constraints they back) of a fresh schema;
    return the statements that make them again, from the schema's own definitions, each
    with its table."""
    rows = await conn.fetch(_INDEXES_SET_ASIDE, schema, list(AFTER_REPLAY))
    if len(rows) != len(AFTER_REPLAY):
        raise LookupError(f"indexes to set aside not all in {schema!r}: {AFTER_REPLAY}")
    remake = []
    for row in rows:
        table = f"{checked_schema(schema)}.{checked_schema(row['tablename'])}"
        name = checked_schema(row["indexname"])
        if row["constraintdef"] is not None:
            await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            remake.append((str(row["tablename"]),
                           f"ALTER TABLE {table} ADD CONSTRAINT {name} {row['constraintdef']}"))
        else:
            await conn.execute(f"DROP INDEX {checked_schema(schema)}.{name}")
            remake.append((str(row["tablename"]), str(row["indexdef"])))
    return remake


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
