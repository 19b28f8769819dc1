"""The invitations table: new invitations in full, later answers and resends as patches.

Each send (the invitation, every resend) states the window of the shares it would grant,
so a patch that carries a window sets all three fields, None included.
"""

from __future__ import annotations

from typing import Any

from services.access.projection.rows import BatchChanges, InvitationPatch
from services.access.projection.sql import Connection
from services.access.projection.tables.arrays import copy_rows, execute_rows, json_text

_INSERT_NEW = """
    INSERT INTO {s}.invitations (invitation_id, email, level, locale, chargers, inviter_id,
        status, expires_at, invited_at, updated_at, responded_by, revoke_reason, valid_from,
        valid_until, schedule)
    SELECT i, e, l, lc, ch::jsonb, inv, st, ex, ia, ua, rb, rr, vf, vu, sc::jsonb
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                $7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
                $11::uuid[], $12::text[], $13::timestamptz[], $14::timestamptz[], $15::text[])
        AS x(i, e, l, lc, ch, inv, st, ex, ia, ua, rb, rr, vf, vu, sc)
    ON CONFLICT (invitation_id) DO NOTHING"""

_PATCH_CHANGED = """
    UPDATE {s}.invitations t SET level = coalesce(x.l, t.level),
        locale = coalesce(x.lc, t.locale), chargers = coalesce(x.ch::jsonb, t.chargers),
        status = coalesce(x.st, t.status), expires_at = coalesce(x.ex, t.expires_at),
        updated_at = coalesce(x.ua, t.updated_at),
        responded_by = coalesce(x.rb, t.responded_by),
        revoke_reason = coalesce(x.rr, t.revoke_reason),
        valid_from = CASE WHEN x.ws THEN x.vf ELSE t.valid_from END,
        valid_until = CASE WHEN x.ws THEN x.vu ELSE t.valid_until END,
        schedule = CASE WHEN x.ws THEN x.sc::jsonb ELSE t.schedule END
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                $6::timestamptz[], $7::timestamptz[], $8::uuid[], $9::text[], $10::boolean[],
                $11::timestamptz[], $12::timestamptz[], $13::text[])
        AS x(i, l, lc, ch, st, ex, ua, rb, rr, ws, vf, vu, sc)
    WHERE t.invitation_id = x.i"""


_COLUMNS = ("invitation_id", "email", "level", "locale", "chargers", "inviter_id", "status",
            "expires_at", "invited_at", "updated_at", "responded_by", "revoke_reason",
            "valid_from", "valid_until", "schedule")


async def write_invitations(conn: Connection, s: str, c: BatchChanges) -> None:
    patches = c.invitations.values()
    await execute_rows(conn, s, _INSERT_NEW, [_new_row(p) for p in patches if p.created])
    await patch_invitations(conn, s, c)


async def copy_new_invitations(conn: Connection, s: str, c: BatchChanges) -> None:
    """The rebuild's way for the batch's new invitations (new to the table)."""
    rows = [_new_row(p) for p in c.invitations.values() if p.created]
    await copy_rows(conn, s, "invitations", _COLUMNS, rows)


async def patch_invitations(conn: Connection, s: str, c: BatchChanges) -> None:
    rows = [_patch_row(p) for p in c.invitations.values() if not p.created]
    await execute_rows(conn, s, _PATCH_CHANGED, rows)


def _new_row(p: InvitationPatch) -> tuple[Any, ...]:
    return (p.invitation_id, p.email, p.level, p.locale, json_text(p.chargers), p.inviter_id,
            p.status, p.expires_at, p.invited_at, p.updated_at, p.responded_by, p.revoke_reason,
            p.valid_from, p.valid_until, _schedule(p))


def _patch_row(p: InvitationPatch) -> tuple[Any, ...]:
    chargers = None if p.chargers is None else json_text(p.chargers)
    return (p.invitation_id, p.level, p.locale, chargers, p.status, p.expires_at, p.updated_at,
            p.responded_by, p.revoke_reason, p.window_set, p.valid_from, p.valid_until,
            _schedule(p))


def _schedule(p: InvitationPatch) -> str | None:
    return None if p.schedule is None else json_text(p.schedule)
