"""The users table: each registered user's latest contact details and locale."""

from __future__ import annotations

from services.access.projection.changes import BatchChanges
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import execute_rows

_UPSERT_USERS = """
    INSERT INTO {s}.users (user_id, email, phone, name, locale)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
    ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, phone = EXCLUDED.phone,
        name = EXCLUDED.name, locale = EXCLUDED.locale"""


async def write_users(conn: Connection, s: str, c: BatchChanges) -> None:
    rows = [(u.user_id, u.email, u.phone, u.name, u.locale) for u in c.users.values()]
    await execute_rows(conn, s, _UPSERT_USERS, rows)
