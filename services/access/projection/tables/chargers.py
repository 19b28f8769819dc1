"""The chargers table: new chargers in full, later moves and transfers as patches."""

from __future__ import annotations

from typing import Any

from services.access.projection.rows import BatchChanges
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import copy_rows, execute_rows

_UPSERT_NEW = """
    INSERT INTO {s}.chargers (charger_id, serial_number, name, group_id, owner_id, connected)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[],
                         $6::boolean[])
    ON CONFLICT (charger_id) DO UPDATE SET serial_number = EXCLUDED.serial_number,
        name = EXCLUDED.name, group_id = EXCLUDED.group_id, owner_id = EXCLUDED.owner_id,
        connected = EXCLUDED.connected"""

_PATCH_CHANGED = """
    UPDATE {s}.chargers c SET group_id = coalesce(x.g, c.group_id),
        owner_id = coalesce(x.o, c.owner_id), connected = coalesce(x.k, c.connected)
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::boolean[]) AS x(id, g, o, k)
    WHERE c.charger_id = x.id"""


_COLUMNS = ("charger_id", "serial_number", "name", "group_id", "owner_id", "connected")


def _new_rows(c: BatchChanges) -> list[tuple[Any, ...]]:
    return [
        (p.charger_id, p.serial_number, p.name, p.group_id, p.owner_id, p.connected)
        for p in c.chargers.values()
        if p.created
    ]


async def write_chargers(conn: Connection, s: str, c: BatchChanges) -> None:
    await execute_rows(conn, s, _UPSERT_NEW, _new_rows(c))
    await patch_chargers(conn, s, c)


async def copy_new_chargers(conn: Connection, s: str, c: BatchChanges) -> None:
    """The rebuild's way for the batch's registered chargers (new to the table)."""
    await copy_rows(conn, s, "chargers", _COLUMNS, _new_rows(c))


async def patch_chargers(conn: Connection, s: str, c: BatchChanges) -> None:
    changed = [
        (p.charger_id, p.group_id, p.owner_id, p.connected)
        for p in c.chargers.values()
        if not p.created
    ]
    await execute_rows(conn, s, _PATCH_CHANGED, changed)
