"""Applying a batch of logged events exactly once: rows and position in one transaction.

The tracking row is locked first, so two instances applying at the same time are
serialised and the second one skips what the first applied. A crash before the commit
leaves neither rows nor position changed; the batch is simply read again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from services.access.projection.changes import Foldable, fold_logged
from services.access.projection.schema import PROJECTION_NAME
from services.access.projection.sql import DEFAULT_SCHEMA, Connection, render
from services.access.projection.writer import write_changes

log = logging.getLogger(__name__)

_LOCK_POSITION = "SELECT position FROM {s}.tracking WHERE projection = $1 FOR UPDATE"
_SET_POSITION = "UPDATE {s}.tracking SET position = $2 WHERE projection = $1"


async def read_position(conn: Connection, schema: str = DEFAULT_SCHEMA) -> int:
    """The position of the last event applied to the read models (0 before any)."""
    sql = render("SELECT position FROM {s}.tracking WHERE projection = $1", schema)
    value = await conn.fetchval(sql, PROJECTION_NAME)
    return int(value or 0)


async def apply(
    conn: Connection,
    events: Sequence[Foldable],
    schema: str = DEFAULT_SCHEMA,
    *,
    defer_access: bool = False,
) -> int:
    """Apply the events above the tracked position, in one transaction; return the position.

    Events at or below the tracked position are skipped, so re-applying a batch (after a
    crash, or by a second instance) changes nothing. `defer_access` is for rebuilds
    only: the access table is then left for `rebuild` to compute once, at the end.
    """
    async with conn.transaction():
        tracked = await conn.fetchval(render(_LOCK_POSITION, schema), PROJECTION_NAME)
        if tracked is None:
            raise LookupError(f"no tracking row in schema {schema!r}: run create_schema first")
        fresh = sorted((e for e in events if e.position > tracked), key=lambda e: e.position)
        if not fresh:
            return int(tracked)
        changes = fold_logged(fresh)
        if changes.skipped_types:
            log.warning("projection skipped unknown event types %s", sorted(changes.skipped_types))
        await write_changes(conn, changes, schema, defer_access=defer_access)
        position = fresh[-1].position
        await conn.execute(render(_SET_POSITION, schema), PROJECTION_NAME, position)
        return position
