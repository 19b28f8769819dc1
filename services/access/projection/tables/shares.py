"""The shares table: each (charger, user) share's level and what granted it."""

from __future__ import annotations

from services.access.projection.rows import BatchChanges
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import execute_rows, json_text

_DELETE_REVOKED = """
    DELETE FROM {s}.shares t USING unnest($1::uuid[], $2::uuid[]) AS x(c, u)
    WHERE t.charger_id = x.c AND t.user_id = x.u"""

_UPSERT_GRANTED = """
    INSERT INTO {s}.shares (charger_id, user_id, level, why)
    SELECT c, u, l, w::jsonb FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])
        AS x(c, u, l, w)
    ON CONFLICT (charger_id, user_id) DO UPDATE
    SET level = EXCLUDED.level, why = EXCLUDED.why"""


async def write_shares(conn: Connection, s: str, c: BatchChanges) -> None:
    gone = [key for key, share in c.shares.items() if share is None]
    await execute_rows(conn, s, _DELETE_REVOKED, gone)
    kept = [
        (ch, u, share.level, json_text(share.why))
        for (ch, u), share in c.shares.items()
        if share is not None
    ]
    await execute_rows(conn, s, _UPSERT_GRANTED, kept)
