"""The charger_history table: every charger's audit timeline, one row per event and charger.

An event that names its chargers writes a row for each; an invitation's answer names only
the invitation, so its rows go to the chargers the invitation lists (joined in SQL).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.access.projection.rows import BatchChanges, HistoryRow
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import execute_rows, json_text

_COLUMNS = ["charger_id", "position", "event_id", "type", "time", "actor", "command_id",
            "details"]

_AS_ROWS = """
    unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::timestamptz[], $6::text[],
           $7::text[], $8::text[]) AS x(k, p, id, t, tm, a, cmd, d)"""

_INSERT_DIRECT = (
    """
    INSERT INTO {s}.charger_history
        (charger_id, position, event_id, type, time, actor, command_id, details)
    SELECT x.k, x.p, x.id, x.t, x.tm, x.a, x.cmd, x.d::jsonb FROM"""
    + _AS_ROWS
    + """
    ON CONFLICT (charger_id, position) DO NOTHING"""
)

_INSERT_VIA_INVITATION = (
    """
    INSERT INTO {s}.charger_history
        (charger_id, position, event_id, type, time, actor, command_id, details)
    SELECT (ref->>'charger_id')::uuid, x.p, x.id, x.t, x.tm, x.a, x.cmd, x.d::jsonb FROM"""
    + _AS_ROWS
    + """
    JOIN {s}.invitations i ON i.invitation_id = x.k
    CROSS JOIN LATERAL jsonb_array_elements(i.chargers) AS ref
    ON CONFLICT (charger_id, position) DO NOTHING"""
)


async def write_history(conn: Connection, s: str, c: BatchChanges) -> None:
    """Insert the batch's history rows; rows already there (a re-applied batch) stay as they are."""
    direct = [_row(h.charger_id, h) for h in c.history if h.charger_id is not None]
    await execute_rows(conn, s, _INSERT_DIRECT, direct)
    await _write_via_invitation(conn, s, c)


async def copy_history(conn: Connection, s: str, c: BatchChanges) -> None:
    """A rebuild's way: the direct rows by COPY (binary, no per-element checks), the rest by SQL.

    Only for empty staging tables where each position is applied once.
    """
    rows: dict[tuple[UUID | None, int], tuple[Any, ...]] = {}
    for h in c.history:
        if h.charger_id is not None:
            rows.setdefault((h.charger_id, h.position), _row(h.charger_id, h))
    if rows:
        await conn.copy_records_to_table(
            "charger_history", schema_name=s, columns=_COLUMNS, records=list(rows.values())
        )
    await _write_via_invitation(conn, s, c)


async def _write_via_invitation(conn: Connection, s: str, c: BatchChanges) -> None:
    rows = [_row(h.invitation_id, h) for h in c.history if h.charger_id is None]
    await execute_rows(conn, s, _INSERT_VIA_INVITATION, rows)


def _row(key: UUID | None, h: HistoryRow) -> tuple[Any, ...]:
    env = h.envelope
    details = json_text(h.details)
    return (key, h.position, env.id, env.type, env.time, env.actor, env.commandid, details)
