"""Writing a folded batch with a few set-based statements, then recomputing access.

Each statement takes whole columns as arrays (`unnest`), so a batch of a thousand
events costs about a dozen round trips, not a thousand. Access rows are recomputed
once per batch for exactly the chargers whose inputs changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from pydantic_core import to_json

from services.access.projection.changes import BatchChanges, HistoryRow
from services.access.projection.forgetting import scrub_forgotten
from services.access.projection.sql import Connection, render


async def write_changes(
    conn: Connection, changes: BatchChanges, schema: str, *, defer_access: bool = False
) -> None:
    """Apply the net row changes; the caller holds the transaction.

    `defer_access` is a rebuild's mode: the access recompute is skipped (the rebuild
    computes it once, at the end) and history rows are copied in rather than upserted
    (the staging tables start empty and each position is applied once).
    """
    s = schema
    await _write_users(conn, s, changes)
    await _write_groups(conn, s, changes)
    await _write_chargers(conn, s, changes)
    await _write_shares(conn, s, changes)
    await _write_invitations(conn, s, changes)
    if defer_access:
        await _copy_history(conn, s, changes)
    else:
        await _write_history(conn, s, changes)
        await recompute_access(conn, schema, changes)
    for forgotten in changes.forgotten:
        await scrub_forgotten(conn, s, forgotten)


def _json(value: Any) -> str:
    """JSON text for a jsonb parameter (pydantic's encoder: several times the stdlib's)."""
    return to_json(value).decode()


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


async def _execute(conn: Connection, s: str, template: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await conn.execute(render(template, s), *_columns(rows, len(rows[0])))


async def _write_users(conn: Connection, s: str, c: BatchChanges) -> None:
    rows = [(u.user_id, u.email, u.phone, u.name, u.locale) for u in c.users.values()]
    await _execute(
        conn,
        s,
        """
        INSERT INTO {s}.users (user_id, email, phone, name, locale)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
        ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, phone = EXCLUDED.phone,
            name = EXCLUDED.name, locale = EXCLUDED.locale""",
        rows,
    )


async def _write_groups(conn: Connection, s: str, c: BatchChanges) -> None:
    rows = [(g.group_id, g.name, g.owner_id, g.personal) for g in c.groups.values()]
    await _execute(
        conn,
        s,
        """
        INSERT INTO {s}.groups (group_id, name, owner_id, personal)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::boolean[])
        ON CONFLICT (group_id) DO UPDATE SET name = EXCLUDED.name,
            owner_id = EXCLUDED.owner_id, personal = EXCLUDED.personal""",
        rows,
    )
    gone = [key for key, role in c.members.items() if role is None]
    await _execute(
        conn,
        s,
        """
        DELETE FROM {s}.group_members m USING unnest($1::uuid[], $2::uuid[]) AS x(g, u)
        WHERE m.group_id = x.g AND m.user_id = x.u""",
        gone,
    )
    kept = [(g, u, role) for (g, u), role in c.members.items() if role is not None]
    await _execute(
        conn,
        s,
        """
        INSERT INTO {s}.group_members (group_id, user_id, role)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
        ON CONFLICT (group_id, user_id) DO UPDATE SET role = EXCLUDED.role""",
        kept,
    )


async def _write_chargers(conn: Connection, s: str, c: BatchChanges) -> None:
    new = [
        (p.charger_id, p.serial_number, p.name, p.group_id, p.owner_id, p.connected)
        for p in c.chargers.values()
        if p.created
    ]
    await _execute(
        conn,
        s,
        """
        INSERT INTO {s}.chargers (charger_id, serial_number, name, group_id, owner_id, connected)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[],
                             $6::boolean[])
        ON CONFLICT (charger_id) DO UPDATE SET serial_number = EXCLUDED.serial_number,
            name = EXCLUDED.name, group_id = EXCLUDED.group_id, owner_id = EXCLUDED.owner_id,
            connected = EXCLUDED.connected""",
        new,
    )
    changed = [
        (p.charger_id, p.group_id, p.owner_id, p.connected)
        for p in c.chargers.values()
        if not p.created
    ]
    await _execute(
        conn,
        s,
        """
        UPDATE {s}.chargers c SET group_id = coalesce(x.g, c.group_id),
            owner_id = coalesce(x.o, c.owner_id), connected = coalesce(x.k, c.connected)
        FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::boolean[]) AS x(id, g, o, k)
        WHERE c.charger_id = x.id""",
        changed,
    )


async def _write_shares(conn: Connection, s: str, c: BatchChanges) -> None:
    gone = [key for key, share in c.shares.items() if share is None]
    await _execute(
        conn,
        s,
        """
        DELETE FROM {s}.shares t USING unnest($1::uuid[], $2::uuid[]) AS x(c, u)
        WHERE t.charger_id = x.c AND t.user_id = x.u""",
        gone,
    )
    kept = [
        (ch, u, share.level, _json(share.why))
        for (ch, u), share in c.shares.items()
        if share is not None
    ]
    await _execute(
        conn,
        s,
        """
        INSERT INTO {s}.shares (charger_id, user_id, level, why)
        SELECT c, u, l, w::jsonb FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])
            AS x(c, u, l, w)
        ON CONFLICT (charger_id, user_id) DO UPDATE
        SET level = EXCLUDED.level, why = EXCLUDED.why""",
        kept,
    )


async def _write_invitations(conn: Connection, s: str, c: BatchChanges) -> None:
    new = [
        (
            p.invitation_id,
            p.email,
            p.level,
            p.locale,
            _json(p.chargers),
            p.inviter_id,
            p.status,
            p.expires_at,
            p.invited_at,
            p.updated_at,
            p.responded_by,
            p.revoke_reason,
        )
        for p in c.invitations.values()
        if p.created
    ]
    await _execute(
        conn,
        s,
        """
        INSERT INTO {s}.invitations (invitation_id, email, level, locale, chargers, inviter_id,
            status, expires_at, invited_at, updated_at, responded_by, revoke_reason)
        SELECT i, e, l, lc, ch::jsonb, inv, st, ex, ia, ua, rb, rr
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                    $7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
                    $11::uuid[], $12::text[]) AS x(i, e, l, lc, ch, inv, st, ex, ia, ua, rb, rr)
        ON CONFLICT (invitation_id) DO NOTHING""",
        new,
    )
    changed = [
        (
            p.invitation_id,
            p.level,
            p.locale,
            None if p.chargers is None else _json(p.chargers),
            p.status,
            p.expires_at,
            p.updated_at,
            p.responded_by,
            p.revoke_reason,
        )
        for p in c.invitations.values()
        if not p.created
    ]
    await _execute(
        conn,
        s,
        """
        UPDATE {s}.invitations t SET level = coalesce(x.l, t.level),
            locale = coalesce(x.lc, t.locale), chargers = coalesce(x.ch::jsonb, t.chargers),
            status = coalesce(x.st, t.status), expires_at = coalesce(x.ex, t.expires_at),
            updated_at = coalesce(x.ua, t.updated_at),
            responded_by = coalesce(x.rb, t.responded_by),
            revoke_reason = coalesce(x.rr, t.revoke_reason)
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                    $6::timestamptz[], $7::timestamptz[], $8::uuid[], $9::text[])
            AS x(i, l, lc, ch, st, ex, ua, rb, rr)
        WHERE t.invitation_id = x.i""",
        changed,
    )


async def _write_history(conn: Connection, s: str, c: BatchChanges) -> None:
    direct = [_history_row(h.charger_id, h) for h in c.history if h.charger_id is not None]
    await _execute(conn, s, _INSERT_HISTORY, direct)
    via_invitation = [_history_row(h.invitation_id, h) for h in c.history if h.charger_id is None]
    await _execute(conn, s, _INSERT_INVITATION_HISTORY, via_invitation)


_HISTORY_TABLE_COLUMNS = [
    "charger_id", "position", "event_id", "type", "time", "actor", "command_id", "details",
]


async def _copy_history(conn: Connection, s: str, c: BatchChanges) -> None:
    """The direct history rows by COPY (binary, no per-element checks), the rest by SQL."""
    rows: dict[tuple[UUID | None, int], tuple[Any, ...]] = {}
    for h in c.history:
        if h.charger_id is not None:
            rows.setdefault((h.charger_id, h.position), _history_row(h.charger_id, h))
    if rows:
        await conn.copy_records_to_table(
            "charger_history", schema_name=s, columns=_HISTORY_TABLE_COLUMNS,
            records=list(rows.values()),
        )
    via_invitation = [_history_row(h.invitation_id, h) for h in c.history if h.charger_id is None]
    await _execute(conn, s, _INSERT_INVITATION_HISTORY, via_invitation)


def _history_row(key: UUID | None, h: HistoryRow) -> tuple[Any, ...]:
    env = h.envelope
    details = _json(h.details)
    return (key, h.position, env.id, env.type, env.time, env.actor, env.commandid, details)


_HISTORY_COLUMNS = """
    unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::timestamptz[], $6::text[],
           $7::text[], $8::text[]) AS x(k, p, id, t, tm, a, cmd, d)"""

_INSERT_HISTORY = (
    """
    INSERT INTO {s}.charger_history
        (charger_id, position, event_id, type, time, actor, command_id, details)
    SELECT x.k, x.p, x.id, x.t, x.tm, x.a, x.cmd, x.d::jsonb FROM"""
    + _HISTORY_COLUMNS
    + """
    ON CONFLICT (charger_id, position) DO NOTHING"""
)

_INSERT_INVITATION_HISTORY = (
    """
    INSERT INTO {s}.charger_history
        (charger_id, position, event_id, type, time, actor, command_id, details)
    SELECT (ref->>'charger_id')::uuid, x.p, x.id, x.t, x.tm, x.a, x.cmd, x.d::jsonb FROM"""
    + _HISTORY_COLUMNS
    + """
    JOIN {s}.invitations i ON i.invitation_id = x.k
    CROSS JOIN LATERAL jsonb_array_elements(i.chargers) AS ref
    ON CONFLICT (charger_id, position) DO NOTHING"""
)


_RECOMPUTE_ACCESS = """
    WITH whole AS (SELECT unnest($1::uuid[]) AS charger_id),
    pairs AS (
        SELECT a.charger_id, a.user_id FROM whole w JOIN {s}.access a USING (charger_id)
        UNION
        SELECT c.charger_id, c.owner_id FROM whole w JOIN {s}.chargers c USING (charger_id)
        UNION
        SELECT c.charger_id, m.user_id FROM whole w JOIN {s}.chargers c USING (charger_id)
        JOIN {s}.group_members m ON m.group_id = c.group_id
        UNION
        SELECT sh.charger_id, sh.user_id FROM whole w JOIN {s}.shares sh USING (charger_id)
        UNION
        SELECT * FROM unnest($2::uuid[], $3::uuid[])
        UNION
        SELECT c.charger_id, x.u FROM unnest($4::uuid[], $5::uuid[]) AS x(g, u)
        JOIN {s}.chargers c ON c.group_id = x.g
    ),
    reasons AS (
        SELECT p.charger_id, p.user_id, 2 AS rank, 0 AS ord,
               jsonb_build_object('source', 'owner', 'level', 'manage') AS why
        FROM pairs p JOIN {s}.chargers c
            ON c.charger_id = p.charger_id AND c.owner_id = p.user_id
        UNION ALL
        SELECT p.charger_id, p.user_id, CASE m.role WHEN 'member' THEN 1 ELSE 2 END, 1,
               jsonb_build_object('source', 'group:' || m.role, 'group_id', m.group_id,
                   'level', CASE m.role WHEN 'member' THEN 'charge' ELSE 'manage' END)
        FROM pairs p JOIN {s}.chargers c ON c.charger_id = p.charger_id
        JOIN {s}.group_members m ON m.group_id = c.group_id AND m.user_id = p.user_id
        UNION ALL
        SELECT p.charger_id, p.user_id, CASE sh.level WHEN 'manage' THEN 2 ELSE 1 END, 2,
               sh.why || jsonb_build_object('level', sh.level)
        FROM pairs p JOIN {s}.shares sh
            ON sh.charger_id = p.charger_id AND sh.user_id = p.user_id
    ),
    fresh AS (
        SELECT user_id, charger_id,
               CASE max(rank) WHEN 2 THEN 'manage' ELSE 'charge' END AS level,
               jsonb_agg(why ORDER BY rank DESC, ord, why) AS why
        FROM reasons GROUP BY user_id, charger_id
    ),
    stale AS (
        DELETE FROM {s}.access a USING pairs p
        WHERE a.charger_id = p.charger_id AND a.user_id = p.user_id
          AND NOT EXISTS (SELECT 1 FROM fresh n
                          WHERE n.charger_id = a.charger_id AND n.user_id = a.user_id)
    )
    INSERT INTO {s}.access AS a (user_id, charger_id, level, why)
    SELECT user_id, charger_id, level, why FROM fresh
    ON CONFLICT (user_id, charger_id) DO UPDATE SET level = EXCLUDED.level, why = EXCLUDED.why
    WHERE (a.level, a.why) IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.why)"""


async def recompute_access(conn: Connection, schema: str, changes: BatchChanges) -> None:
    """Rewrite the access rows whose inputs the batch changed, and only those.

    A changed owner or group recomputes the whole charger; a changed share only its
    (charger, user) row; a changed role only that user's rows on the group's chargers.
    Effective level = the highest reason: owner → manage, group owner/admin → manage,
    group member → charge, share → its level. Every reason is kept in `why`, highest
    first. Unchanged rows are left alone and rows that lost every reason are deleted, in
    one statement: the rows it deletes and the rows it upserts are disjoint.
    """
    whole = changes.touched_chargers
    pairs = [p for p in changes.touched_pairs if p[0] not in whole]
    memberships = list(changes.touched_memberships)
    if not (whole or pairs or memberships):
        return
    await conn.execute(
        render(_RECOMPUTE_ACCESS, schema),
        list(whole),
        [c for c, _ in pairs],
        [u for _, u in pairs],
        [g for g, _ in memberships],
        [u for _, u in memberships],
    )


_COMPUTE_ALL_ACCESS = """
    INSERT INTO {s}.access (user_id, charger_id, level, why)
    SELECT user_id, charger_id, CASE max(rank) WHEN 2 THEN 'manage' ELSE 'charge' END,
           jsonb_agg(why ORDER BY rank DESC, ord, why)
    FROM (
        SELECT c.charger_id, c.owner_id AS user_id, 2 AS rank, 0 AS ord,
               jsonb_build_object('source', 'owner', 'level', 'manage') AS why
        FROM {s}.chargers c
        UNION ALL
        SELECT c.charger_id, m.user_id, CASE m.role WHEN 'member' THEN 1 ELSE 2 END, 1,
               jsonb_build_object('source', 'group:' || m.role, 'group_id', m.group_id,
                   'level', CASE m.role WHEN 'member' THEN 'charge' ELSE 'manage' END)
        FROM {s}.chargers c JOIN {s}.group_members m ON m.group_id = c.group_id
        UNION ALL
        SELECT sh.charger_id, sh.user_id, CASE sh.level WHEN 'manage' THEN 2 ELSE 1 END, 2,
               sh.why || jsonb_build_object('level', sh.level)
        FROM {s}.shares sh
    ) reasons
    GROUP BY user_id, charger_id"""


async def recompute_all_access(conn: Connection, schema: str) -> None:
    """Compute every access row from scratch (a rebuild defers access to this one pass).

    The same reasons, levels and order of `why` as `recompute_access`, as one aggregate
    over whole tables instead of per changed pair.
    """
    await conn.execute(render("DELETE FROM {s}.access", schema))
    await conn.execute(render(_COMPUTE_ALL_ACCESS, schema))
