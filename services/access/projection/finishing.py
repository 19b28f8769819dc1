"""The tables of a bulk load: indexes set aside before it, and after it made again, every
table vacuumed and analyzed (`finish`).

A rebuild fills fresh tables from the whole log. An index kept row by row costs a random
page per insert once it outgrows the cache, so those the replay never reads are dropped
first and made after it by one sort each; and a table just filled has no row marked
visible to all until it is vacuumed, so every read would check each row's transaction
status. Both are PostgreSQL's work alone, done once the replay's process is idle, two
tables at a time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from services.access.projection.sql import Connection, checked_schema

log = logging.getLogger(__name__)

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


async def set_aside(conn: Connection, schema: str) -> list[tuple[str, str]]:
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
