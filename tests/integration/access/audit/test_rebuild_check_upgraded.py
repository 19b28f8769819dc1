"""`rebuild --check` on read models kept since before an index existed.

Such read models hold `email_positions` / `name_positions` only from the position the
index started at (`index_since`); a rebuild holds them whole. The check compares them
from that position on, so an upgraded database checks equal, and a row lost after that
position is still found.
"""

from __future__ import annotations

import asyncpg
import pytest

from services.access.audit.rebuild_check import CheckReport, TableCheck, check_rebuild
from services.access.projection.schema import LATER_INDEXES
from tests.integration.access.audit.history import History

pytestmark = pytest.mark.integration

INDEXES = [table for table, _key in LATER_INDEXES]


async def _as_if_added_at_the_middle(conn: asyncpg.Connection, table: str) -> int:
    """Make `table` look as an upgrade leaves it: started empty halfway through the log."""
    positions = [r[0] for r in await conn.fetch(
        f"SELECT DISTINCT position FROM read.{table} ORDER BY 1")]
    assert len(positions) >= 2, table  # something on each side of the upgrade
    since = positions[len(positions) // 2 - 1]
    await conn.execute(f"DELETE FROM read.{table} WHERE position <= $1", since)
    await conn.execute("UPDATE read.index_since SET position = $2 WHERE name = $1",
                       table, since)
    return since


async def test_an_upgraded_database_checks_equal_from_where_its_indexes_start(
    history: History,
) -> None:
    pool = await asyncpg.create_pool(history.url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            since = {t: await _as_if_added_at_the_middle(conn, t) for t in INDEXES}
        report = await check_rebuild(pool)
        assert report.ok, [(t.table, t.only_live, t.only_rebuilt)
                           for t in report.tables if not t.equal]
        for table, position in since.items():
            assert checked_table(report, table).since == position
            assert checked_table(report, table).live_rows > 0
        assert all(t.since == 0 for t in report.tables if t.table not in since)

        async with pool.acquire() as conn:
            lost = {t: await conn.fetchval(
                f"DELETE FROM read.{t} WHERE ctid = (SELECT ctid FROM read.{t} "
                f"WHERE position > $1 ORDER BY position LIMIT 1) RETURNING position", p)
                for t, p in since.items()}
        report = await check_rebuild(pool)
        assert not report.ok
        for table in INDEXES:
            only_rebuilt = checked_table(report, table).only_rebuilt
            assert len(only_rebuilt) == 1, only_rebuilt
            assert str(lost[table]) in only_rebuilt[0], only_rebuilt
    finally:
        await pool.close()


def checked_table(report: CheckReport, table: str) -> TableCheck:
    return next(t for t in report.tables if t.table == table)
