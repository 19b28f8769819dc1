"""`rebuild --check`: replay the log into scratch tables and compare them with the live ones.

The scratch copy is built with the projection's own `rebuild` (the same code that would
replace the live tables), up to the live position. The comparison then runs while the
live tracking row is share-locked, so the live projection cannot move underneath it;
events that arrived meanwhile are applied to the scratch copy first. Each table is
compared by row count and digest (md5 of its rows in a canonical order) and, where they
differ, by the rows only one side has.

An index added after the first release (`schema.LATER_INDEXES`) is whole in read models
kept since before it only from the position it started at (`index_since`); a rebuild
holds it from the log's start. Such a table is compared from that position on both
sides: the rows before it are the upgrade's known gap (the timeline replays meanwhile),
not a fault, and one missing after it is still found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.access.eventlog.reader import pooled
from services.access.projection.apply import apply
from services.access.projection.rebuild import Progress, rebuild
from services.access.projection.records import ProjectionLog
from services.access.projection.schema import PROJECTION_NAME
from services.access.projection.sql import DEFAULT_SCHEMA, Connection, checked_schema, render

TABLES = ("users", "groups", "group_members", "chargers", "shares", "invitations", "access",
          "charger_history", "charge_keys", "local_list_versions", "local_list_entries",
          "access_history", "log_positions", "id_positions", "name_positions",
          "email_positions")
DIFF_ROWS = 20

_POSITION = "SELECT position FROM {s}.tracking WHERE projection = $1"
_LOCKED_POSITION = _POSITION + " FOR SHARE"
_COLUMNS = """
    SELECT column_name FROM information_schema.columns
    WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position"""


@dataclass(frozen=True)
class TableCheck:
    table: str
    live_rows: int
    rebuilt_rows: int
    live_digest: str
    rebuilt_digest: str
    only_live: list[str] = field(default_factory=list)
    """Up to DIFF_ROWS rows the live table has and the rebuilt one does not."""
    only_rebuilt: list[str] = field(default_factory=list)
    since: int = 0
    """Compared from this position on (0: whole): the live index was added later."""

    @property
    def equal(self) -> bool:
        return self.live_digest == self.rebuilt_digest and self.live_rows == self.rebuilt_rows

    def as_json(self) -> dict[str, Any]:
        return {"table": self.table, "equal": self.equal, "live_rows": self.live_rows,
                "rebuilt_rows": self.rebuilt_rows, "live_digest": self.live_digest,
                "rebuilt_digest": self.rebuilt_digest, "only_live": self.only_live,
                "only_rebuilt": self.only_rebuilt, "since": self.since}


@dataclass(frozen=True)
class CheckReport:
    position: int
    tables: list[TableCheck]

    @property
    def ok(self) -> bool:
        return all(t.equal for t in self.tables)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "position": self.position,
                "tables": [t.as_json() for t in self.tables]}


async def check_rebuild(
    pool: asyncpg.Pool, *, live: str = DEFAULT_SCHEMA, scratch: str | None = None,
    progress: Progress | None = None, keep: bool = False,
) -> CheckReport:
    """Rebuild into `scratch` up to the live position and compare every table with `live`."""
    scratch = scratch or f"{live}_audit_check"
    checked_schema(live)
    log = ProjectionLog()
    async with pool.acquire() as conn:
        start = await _live_position(conn, live, lock=False)
    try:
        built = await rebuild(pool, pooled(pool, log, upto=start), schema=scratch,
                              progress=progress)
        async with pool.acquire() as conn, conn.transaction():
            position = await _live_position(conn, live, lock=True)
            if position > built:
                await _catch_up(conn, log, scratch, built, position)
            since = await _indexed_since(conn, live)
            tables = [await _compare(conn, table, live, scratch, since.get(table, 0))
                      for table in TABLES]
        return CheckReport(position, tables)
    finally:
        if not keep:
            async with pool.acquire() as conn:
                await conn.execute(render("DROP SCHEMA IF EXISTS {s} CASCADE", scratch))


async def _live_position(conn: Connection, live: str, *, lock: bool) -> int:
    sql = _LOCKED_POSITION if lock else _POSITION
    value = await conn.fetchval(render(sql, live), PROJECTION_NAME)
    if value is None:
        raise LookupError(f"no live read models in schema {live!r}")
    return int(value)


async def _indexed_since(conn: Connection, live: str) -> dict[str, int]:
    rows = await conn.fetch(render("SELECT name, position FROM {s}.index_since", live))
    return {str(r["name"]): int(r["position"]) for r in rows}


async def _catch_up(
    conn: Connection, log: ProjectionLog, scratch: str, after: int, upto: int
) -> None:
    while after < upto:
        events = [e for e in await log.read(conn, after, 1000) if e.position <= upto]
        if not events:
            return
        after = await apply(conn, events, scratch)


async def _compare(
    conn: Connection, table: str, live: str, scratch: str, since: int = 0
) -> TableCheck:
    columns = [r[0] for r in await conn.fetch(_COLUMNS, scratch, table)]
    listed = ", ".join(f'"{c}"' for c in columns)
    after = f" WHERE position > {int(since)}" if since else ""
    live_rows = f"{checked_schema(live)}.{table}{after}"
    scratch_rows = f"{checked_schema(scratch)}.{table}{after}"
    live_count, live_digest = await _digest(conn, live_rows, listed)
    rebuilt_count, rebuilt_digest = await _digest(conn, scratch_rows, listed)
    only_live: list[str] = []
    only_rebuilt: list[str] = []
    if (live_count, live_digest) != (rebuilt_count, rebuilt_digest):
        only_live = await _except(conn, live_rows, scratch_rows, listed)
        only_rebuilt = await _except(conn, scratch_rows, live_rows, listed)
    return TableCheck(table, live_count, rebuilt_count, live_digest, rebuilt_digest,
                      only_live, only_rebuilt, since)


async def _digest(conn: Connection, rows: str, columns: str) -> tuple[int, str]:
    row = await conn.fetchrow(
        f"SELECT count(*) AS n, md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS d "  # noqa: S608
        f"FROM (SELECT ROW({columns})::text AS r FROM {rows}) t"
    )
    assert row is not None
    return int(row["n"]), str(row["d"])


async def _except(conn: Connection, left: str, right: str, columns: str) -> list[str]:
    rows = await conn.fetch(
        f"SELECT ROW({columns})::text AS r FROM "  # noqa: S608 - checked schema names
        f"(SELECT {columns} FROM {left} EXCEPT SELECT {columns} FROM {right}) x "
        f"ORDER BY 1 LIMIT {DIFF_ROWS}"
    )
    return [str(r["r"]) for r in rows]
