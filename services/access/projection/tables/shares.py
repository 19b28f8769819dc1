"""The shares table: each (charger, user) share's level, window and what granted it.

A time-bound share also says whether it was in effect as of `effect_at` (its grant or
its last boundary event), as the charger's own state does.
"""

from __future__ import annotations

from services.access.projection.rows import BatchChanges
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import execute_rows, json_text

_DELETE_REVOKED = """
    DELETE FROM {s}.shares t USING unnest($1::uuid[], $2::uuid[]) AS x(c, u)
    WHERE t.charger_id = x.c AND t.user_id = x.u"""

_UPSERT_GRANTED = """
    INSERT INTO {s}.shares (charger_id, user_id, level, why, valid_from, valid_until,
        schedule, in_effect, effect_at)
    SELECT c, u, l, w::jsonb, vf, vu, sc::jsonb, ie, ea
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[],
                $6::timestamptz[], $7::text[], $8::boolean[], $9::timestamptz[])
        AS x(c, u, l, w, vf, vu, sc, ie, ea)
    ON CONFLICT (charger_id, user_id) DO UPDATE
    SET level = EXCLUDED.level, why = EXCLUDED.why, valid_from = EXCLUDED.valid_from,
        valid_until = EXCLUDED.valid_until, schedule = EXCLUDED.schedule,
        in_effect = EXCLUDED.in_effect, effect_at = EXCLUDED.effect_at"""

_SET_EFFECT = """
    UPDATE {s}.shares t SET in_effect = x.ie, effect_at = x.ea
    FROM unnest($1::uuid[], $2::uuid[], $3::boolean[], $4::timestamptz[]) AS x(c, u, ie, ea)
    WHERE t.charger_id = x.c AND t.user_id = x.u"""


async def write_shares(conn: Connection, s: str, c: BatchChanges) -> None:
    gone = [key for key, share in c.shares.items() if share is None]
    await execute_rows(conn, s, _DELETE_REVOKED, gone)
    kept = [
        (ch, u, share.level, json_text(share.why), share.valid_from, share.valid_until,
         None if share.schedule is None else json_text(share.schedule), share.in_effect,
         share.effect_at)
        for (ch, u), share in c.shares.items()
        if share is not None
    ]
    await execute_rows(conn, s, _UPSERT_GRANTED, kept)
    effects = [(ch, u, e.in_effect, e.effect_at) for (ch, u), e in c.share_effects.items()]
    await execute_rows(conn, s, _SET_EFFECT, effects)
