"""The users table: each registered user's latest contact details and locale."""

from __future__ import annotations

from typing import Any

from services.access.projection.rows import BatchChanges
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import copy_rows, execute_rows

_UPSERT_USERS = """
    INSERT INTO {s}.users (user_id, email, phone, name, locale)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
    ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, phone = EXCLUDED.phone,
        name = EXCLUDED.name, locale = EXCLUDED.locale"""


_COLUMNS = ("user_id", "email", "phone", "name", "locale")


def _rows(c: BatchChanges) -> list[tuple[Any, ...]]:
    return [(u.user_id, u.email, u.phone, u.name, u.locale) for u in c.users.values()]


async def write_users(conn: Connection, s: str, c: BatchChanges) -> None:
    await execute_rows(conn, s, _UPSERT_USERS, _rows(c))


async def copy_users(conn: Connection, s: str, c: BatchChanges) -> None:
    """The rebuild's way: every user row of the batch is new to the table."""
    await copy_rows(conn, s, "users", _COLUMNS, _rows(c))
