"""The groups and group_members tables: each group's owner, and every member's role."""

from __future__ import annotations

from typing import Any

from services.access.projection.rows import BatchChanges
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import copy_rows, execute_rows

_UPSERT_GROUPS = """
    INSERT INTO {s}.groups (group_id, name, owner_id, personal)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::boolean[])
    ON CONFLICT (group_id) DO UPDATE SET name = EXCLUDED.name,
        owner_id = EXCLUDED.owner_id, personal = EXCLUDED.personal"""

_DELETE_MEMBERS = """
    DELETE FROM {s}.group_members m USING unnest($1::uuid[], $2::uuid[]) AS x(g, u)
    WHERE m.group_id = x.g AND m.user_id = x.u"""

_UPSERT_MEMBERS = """
    INSERT INTO {s}.group_members (group_id, user_id, role)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
    ON CONFLICT (group_id, user_id) DO UPDATE SET role = EXCLUDED.role"""


_COLUMNS = ("group_id", "name", "owner_id", "personal")


def _rows(c: BatchChanges) -> list[tuple[Any, ...]]:
    return [(g.group_id, g.name, g.owner_id, g.personal) for g in c.groups.values()]


async def write_groups(conn: Connection, s: str, c: BatchChanges) -> None:
    await execute_rows(conn, s, _UPSERT_GROUPS, _rows(c))
    await write_members(conn, s, c)


async def copy_groups(conn: Connection, s: str, c: BatchChanges) -> None:
    """The rebuild's way: every group row of the batch is new (members still by upsert)."""
    await copy_rows(conn, s, "groups", _COLUMNS, _rows(c))


async def write_members(conn: Connection, s: str, c: BatchChanges) -> None:
    gone = [key for key, role in c.members.items() if role is None]
    await execute_rows(conn, s, _DELETE_MEMBERS, gone)
    kept = [(g, u, role) for (g, u), role in c.members.items() if role is not None]
    await execute_rows(conn, s, _UPSERT_MEMBERS, kept)
