"""The log's indexes for auditors: when each position happened, and which ids it names.

`log_positions` (position → time, type) answers "the last position at or before T" and
"was this charger or user registered by T" without reading the log; `id_positions`
(id → positions) lists the events that name an id (any of the fields the timeline
reads, and the actor), so an auditor reads those events only. Both are written once per
batch, one statement each, and re-applied batches change nothing (ON CONFLICT).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from services.access.projection.changes import Foldable
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import execute_rows

ID_KEYS = frozenset({"charger_id", "charger_ids", "user_id", "owner_id", "from_owner_id",
                     "group_id", "from_group_id", "to_group_id", "invitation_id"})
"""The data fields that name an id (the timeline's `_KEYS`, checked equal by a unit test)."""

_INSERT_TIMES = """
    INSERT INTO {s}.log_positions (position, time, type)
    SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[])
    ON CONFLICT (position) DO NOTHING"""

_INSERT_IDS = """
    INSERT INTO {s}.id_positions (id, position)
    SELECT * FROM unnest($1::text[], $2::bigint[])
    ON CONFLICT (id, position) DO NOTHING"""


def named_ids(data: Any, found: set[str] | None = None) -> set[str]:
    """Every id the event's data names in an id field, at any depth."""
    found = set() if found is None else found
    if isinstance(data, list):
        for item in data:
            named_ids(item, found)
    elif isinstance(data, dict):
        for key, item in data.items():
            if key in ID_KEYS and item is not None:
                found.update(str(one) for one in (item if isinstance(item, list) else [item]))
            else:
                named_ids(item, found)
    return found


def _id_rows(events: Iterable[Foldable]) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = []
    for e in events:
        ids = named_ids(e.data)
        if e.head.actor:
            ids.add(e.head.actor)
        rows.extend((one, e.position) for one in ids)
    return rows


async def write_positions(conn: Connection, s: str, events: Sequence[Foldable]) -> None:
    """Index a batch's events: their times and types, and the ids each one names."""
    await execute_rows(conn, s, _INSERT_TIMES,
                       [(e.position, e.head.time, e.head.type) for e in events])
    await execute_rows(conn, s, _INSERT_IDS, _id_rows(events))
