"""Whether the projection's audit indexes hold the log from its first event.

Read models kept from before an index existed hold it only from where it was added, until
their next rebuild; the auditors' reads then replay the log instead. Once a schema's
indexes hold the log from its start they always will (a rebuild swaps in indexes that do
too), so a process that has seen it once need not ask again: asking took four round trips
and a decoded event on every audit read. Until then it asks each time, as a rebuild may
swap complete indexes in at any moment.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.access.audit import store
from services.access.projection.sql import Connection, checked_schema, render

ACCESS_TABLES = ("access_history", "log_positions", "id_positions")
"""What access-at-T reads (`audit/indexed.py`)."""
TIMELINE_TABLES = ("id_positions", "log_positions", "email_positions", "name_positions",
                   "index_since")
"""What the timeline reads (`audit/indexed_timeline.py`); `index_since` records from where
each index added after the first release is complete."""

_EXISTS = "SELECT bool_and(to_regclass(t) IS NOT NULL) FROM unnest($1::text[]) AS t"
_SINCE = "SELECT max(position) FROM {s}.index_since"
"""From where the newest index is complete (0: every one holds the whole log)."""
_HAS = "SELECT EXISTS (SELECT 1 FROM {s}.log_positions WHERE position = $1)"


class IndexCoverage:
    """Remembers the schemas (and table sets) seen to hold the log from its start."""

    def __init__(self) -> None:
        self._complete: set[tuple[str, tuple[str, ...]]] = set()

    async def from_start(self, conn: Connection, schema: str, tables: Sequence[str]) -> bool:
        key = (schema, tuple(tables))
        if key in self._complete:
            return True
        if await _from_start(conn, schema, key[1]):
            self._complete.add(key)
            return True
        return False


async def _from_start(conn: Connection, schema: str, tables: tuple[str, ...]) -> bool:
    s = checked_schema(schema)
    if not await conn.fetchval(_EXISTS, [f"{s}.{table}" for table in tables]):
        return False
    if "index_since" in tables and int(await conn.fetchval(render(_SINCE, schema)) or 0) > 0:
        return False
    first = await store.published_after(conn, 0)
    return first is None or bool(await conn.fetchval(render(_HAS, schema), first.position))
