"""The charge_keys table: every live key with its user, token, type and whether blocked.

A removed key's row is deleted (a forgotten user's keys are removed first), so the table
holds no token nobody may use. Tokens are unique per type on the write side (a claim);
the index on (type, id_token) only serves the authorize lookup, and is not unique so a
rebuild after forgetting (tokens read as the user's pseudonym) cannot trip over it.
"""

from __future__ import annotations

from services.access.projection.rows import BatchChanges
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import execute_rows

_DELETE_REMOVED = """
    DELETE FROM {s}.charge_keys t USING unnest($1::uuid[]) AS x(k) WHERE t.key_id = x.k"""

_UPSERT_ADDED = """
    INSERT INTO {s}.charge_keys (key_id, user_id, id_token, type, label, blocked, added_at)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                         $6::boolean[], $7::timestamptz[])
    ON CONFLICT (key_id) DO UPDATE
    SET user_id = EXCLUDED.user_id, id_token = EXCLUDED.id_token, type = EXCLUDED.type,
        label = EXCLUDED.label, blocked = EXCLUDED.blocked, added_at = EXCLUDED.added_at"""

_SET_BLOCKED = """
    UPDATE {s}.charge_keys t SET blocked = x.b
    FROM unnest($1::uuid[], $2::boolean[]) AS x(k, b) WHERE t.key_id = x.k"""


async def write_charge_keys(conn: Connection, s: str, c: BatchChanges) -> None:
    gone = [(key_id,) for key_id, row in c.charge_keys.items() if row is None]
    await execute_rows(conn, s, _DELETE_REMOVED, gone)
    added = [(r.key_id, r.user_id, r.id_token, r.type, r.label, r.blocked, r.added_at)
             for r in c.charge_keys.values() if r is not None]
    await execute_rows(conn, s, _UPSERT_ADDED, added)
    await execute_rows(conn, s, _SET_BLOCKED, list(c.key_blocks.items()))
