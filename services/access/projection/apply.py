"""Applying a batch of logged events exactly once: rows and position in one transaction.

The tracking row is locked first, so two instances applying at the same time are
serialised and the second one skips what the first applied. A crash before the commit
leaves neither rows nor position changed; the batch is simply read again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from services.access.local_lists.segments import Mark, Segment, complete_units, segments
from services.access.projection.changes import Foldable, fold_logged
from services.access.projection.schema import PROJECTION_NAME, READ_MODELS_CHANNEL
from services.access.projection.sql import DEFAULT_SCHEMA, Connection, render
from services.access.projection.tables.access import Marks
from services.access.projection.tables.local_lists import (
    forget_in_local_lists,
    reached_by,
    update_local_lists,
)
from services.access.projection.tables.positions import write_positions
from services.access.projection.writer import write_changes
from services.common import fault_points

log = logging.getLogger(__name__)

_SET_POSITION = "UPDATE {s}.tracking SET position = $2 WHERE projection = $1"
_SET_POSITION_NOTIFYING = """
    WITH moved AS (UPDATE {s}.tracking SET position = $2 WHERE projection = $1)
    SELECT pg_notify($3, '')"""
_PLANNING = ("plan_cache_mode", "force_custom_plan", "random_page_cost", "1.1")
"""How a batch's statements are planned: settings and their values, in pairs, set for
the batch's transaction by `_LOCK_POSITION`.

Custom plans: the statements take arrays of ids whose sizes differ by thousands from one
segment to the next (one share, or every charger of a fleet). After five runs of a
prepared statement PostgreSQL may switch to a generic plan, made without the arrays: it
read a user's current list entries with a plan costing 3.3 ms where the one made for the
actual array costs 0.17 (rebuild of a 100 k fleet: 71 s, 54 s with custom plans).

Random reads priced as cached ones: the default (4.0, four sequential reads) assumes a
spinning disk, and made the planner hash all 79 k chargers of a 1 M-event fleet rather
than probe an index 2 000 times for a fleet-wide recompute (60 ms; 30 ms probing). The
read models' working set is in memory, the buffer pool's or the OS's."""
_LOCK_POSITION = """
    SELECT position, set_config($2, $3, true), set_config($4, $5, true)
    FROM {s}.tracking WHERE projection = $1 FOR UPDATE"""
"""The tracked position, locked, and `_PLANNING` set for the transaction (as SET LOCAL
would) in the same round trip."""


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
    may_continue: bool = False,
) -> int:
    """Apply the events above the tracked position, in one transaction; return the position.

    The batch is written in segments (`local_lists.segments`) so each command's change to a
    local list is a version of its own, however the log was cut into batches; a last
    `may_continue` says the log may hold more of the batch's last command (the read was
    full): that command is then left for the next batch, unless it is all the batch holds
    (the position returned is then below the last event's).

    Events at or below the tracked position are skipped, so re-applying a batch (after a
    crash, or by a second instance) changes nothing. `defer_access` is for rebuilds
    only: created rows are then copied into the empty staging tables.
    """
    async with conn.transaction():
        tracked = await conn.fetchval(render(_LOCK_POSITION, schema), PROJECTION_NAME,
                                      *_PLANNING)
        if tracked is None:
            raise LookupError(f"no tracking row in schema {schema!r}: run create_schema first")
        fresh = sorted((e for e in events if e.position > tracked), key=lambda e: e.position)
        if not fresh:
            return int(tracked)
        if may_continue:
            fresh = list(complete_units(fresh))
        # Indexed first: a forgotten person's scrub (in the batch's changes) then drops
        # the index rows of the batch's own events that still named their address.
        await write_positions(conn, schema, fresh)
        for segment in segments(fresh):
            changes = fold_logged(segment.events)
            if changes.skipped_types:
                log.warning("projection skipped unknown event types %s",
                            sorted(changes.skipped_types))
            marks = dict(segment.chargers)
            if segment.wide is not None:
                before = await reached_by(conn, schema, segment)
            await write_changes(conn, changes, schema, defer_access=defer_access,
                                marks=_marks(segment))
            fault_points.reached("projection.mid_batch")
            if segment.wide is not None:
                after = before if segment.keeps_reach else await reached_by(
                    conn, schema, segment)
                marks.update(dict.fromkeys(before | after, segment.wide))
            await update_local_lists(conn, schema, marks,
                                     {c: segment.scope(c) for c in marks})
            for forgotten in changes.forgotten:
                await forget_in_local_lists(conn, schema, forgotten.user_id)
        position = fresh[-1].position
        if schema == DEFAULT_SCHEMA:  # a rebuild's staging schema wakes nobody
            await conn.execute(render(_SET_POSITION_NOTIFYING, schema), PROJECTION_NAME,
                               position, READ_MODELS_CHANNEL)
        else:
            await conn.execute(render(_SET_POSITION, schema), PROJECTION_NAME, position)
        return position


def _marks(segment: Segment[Foldable]) -> Marks:
    """Where the segment's access changes happened: a narrow unit's charger at that unit's
    last event, anything else (a wide unit's segment) at the segment's unit."""
    last = segment.wide or segment.events[-1]
    position, time = ((last.position, last.time) if isinstance(last, Mark)
                      else (last.position, last.head.time))
    return Marks({c: (m.position, m.time) for c, m in segment.chargers.items()}, position, time)
