"""The access table: the effective level of every (user, charger) pair, with every reason.

Derived from the chargers, group_members and shares tables, never from events directly:
the projection (live, and a rebuild alike) recomputes the rows each segment's changes
touch, and records each change in `access_history` with the interval the row held in.

A time-bound share is a reason like any other (its `why` entry carries its window), and
the row says so: `timebound`, and `standing_level`, the level of the reasons always in
effect (owner, group roles, permanent shares; null without any). `level` stays the
highest level of every reason. A row without `timebound` answers every moment alike; a
reader evaluates a time-bound row's windows at the moment asked (boundary events do not
change access rows, so neither the check nor a rebuild depends on when they arrived).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.access.projection.rows import BatchChanges
from services.access.projection.sql import Connection, render

_TIMEBOUND = "(sh.valid_from IS NOT NULL OR sh.valid_until IS NOT NULL OR sh.schedule IS NOT NULL)"
"""Whether a share has a window (the shares' reasons' `tb`)."""

_AGGREGATES = """
    CASE max(rank) WHEN 2 THEN 'manage' ELSE 'charge' END AS level,
    jsonb_agg(why ORDER BY rank DESC, ord, why) AS why,
    CASE max(rank) FILTER (WHERE NOT tb) WHEN 2 THEN 'manage' WHEN 1 THEN 'charge' END
        AS standing_level,
    bool_or(tb) AS timebound"""
"""One access row from its reasons (rank 2 = manage, 1 = charge; `tb` = time-bound):
the recompute's expressions."""

@dataclass(frozen=True)
class Marks:
    """Where each charger's access changed (the position and time of the command that
    changed it), and where any other change happened."""

    chargers: dict[UUID, tuple[int, datetime]]
    position: int
    time: datetime


_PAIRS = """
    WITH whole AS (SELECT unnest($1::uuid[]) AS charger_id)
    SELECT a.charger_id, a.user_id FROM whole w JOIN {s}.access a USING (charger_id)
    UNION
    SELECT c.charger_id, c.owner_id FROM whole w JOIN {s}.chargers c USING (charger_id)
    UNION
    SELECT c.charger_id, m.user_id FROM whole w JOIN {s}.chargers c USING (charger_id)
    JOIN {s}.group_members m ON m.group_id = c.group_id
    UNION
    SELECT sh.charger_id, sh.user_id FROM whole w JOIN {s}.shares sh USING (charger_id)
    UNION
    SELECT c.charger_id, x.u FROM unnest($2::uuid[], $3::uuid[]) AS x(g, u)
    JOIN {s}.chargers c ON c.group_id = x.g"""
"""The (charger, user) pairs a changed charger (anyone who holds or may hold access on
it) or a changed membership (the user on each of the group's chargers) may change."""

_RECOMPUTE_ACCESS = """
    WITH pairs AS (SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS p(charger_id, user_id)),
    reasons AS (
        SELECT p.charger_id, p.user_id, 2 AS rank, 0 AS ord,
               jsonb_build_object('source', 'owner', 'level', 'manage') AS why, false AS tb
        FROM pairs p JOIN {s}.chargers c
            ON c.charger_id = p.charger_id AND c.owner_id = p.user_id
        UNION ALL
        SELECT p.charger_id, p.user_id, CASE m.role WHEN 'member' THEN 1 ELSE 2 END, 1,
               jsonb_build_object('source', 'group:' || m.role, 'group_id', m.group_id,
                   'level', CASE m.role WHEN 'member' THEN 'charge' ELSE 'manage' END), false
        FROM pairs p JOIN {s}.chargers c ON c.charger_id = p.charger_id
        JOIN {s}.group_members m ON m.group_id = c.group_id AND m.user_id = p.user_id
        UNION ALL
        SELECT p.charger_id, p.user_id, CASE sh.level WHEN 'manage' THEN 2 ELSE 1 END, 2,
               sh.why || jsonb_build_object('level', sh.level), _TIMEBOUND
        FROM pairs p JOIN {s}.shares sh
            ON sh.charger_id = p.charger_id AND sh.user_id = p.user_id
    ),
    fresh AS (
        SELECT user_id, charger_id, _AGGREGATES
        FROM reasons GROUP BY user_id, charger_id
    ),
    gone AS (
        SELECT charger_id, user_id FROM pairs EXCEPT SELECT charger_id, user_id FROM fresh
    ),
    stale AS (
        DELETE FROM {s}.access a USING gone g
        WHERE a.charger_id = g.charger_id AND a.user_id = g.user_id
        RETURNING a.charger_id, a.user_id
    ),
    written AS (
        INSERT INTO {s}.access AS a (user_id, charger_id, level, why, standing_level, timebound)
        SELECT user_id, charger_id, level, why, standing_level, timebound FROM fresh
        ON CONFLICT (user_id, charger_id) DO UPDATE SET level = EXCLUDED.level,
            why = EXCLUDED.why, standing_level = EXCLUDED.standing_level,
            timebound = EXCLUDED.timebound
        WHERE (a.level, a.why, a.standing_level, a.timebound) IS DISTINCT FROM
              (EXCLUDED.level, EXCLUDED.why, EXCLUDED.standing_level, EXCLUDED.timebound)
        RETURNING a.charger_id, a.user_id, a.level, a.why
    ),
    marks AS (
        SELECT * FROM unnest($3::uuid[], $4::bigint[], $5::timestamptz[]) AS m(charger_id, p, t)
    ),
    changed AS (
        SELECT x.charger_id, x.user_id, coalesce(m.p, $6) AS p, coalesce(m.t, $7) AS t
        FROM (SELECT charger_id, user_id FROM stale
              UNION ALL SELECT charger_id, user_id FROM written) x
        LEFT JOIN marks m USING (charger_id)
    ),
    closed AS (
        UPDATE {s}.access_history h SET until_position = c.p, until_time = c.t
        FROM changed c
        WHERE h.charger_id = c.charger_id AND h.user_id = c.user_id
          AND h.until_position IS NULL
    )
    INSERT INTO {s}.access_history
        (charger_id, user_id, level, why, from_position, from_time)
    SELECT w.charger_id, w.user_id, w.level, w.why, c.p, c.t
    FROM written w JOIN changed c USING (charger_id, user_id)"""
_RECOMPUTE_ACCESS = _RECOMPUTE_ACCESS.replace("_TIMEBOUND", _TIMEBOUND).replace(
    "_AGGREGATES", _AGGREGATES)


async def recompute_access(conn: Connection, schema: str, changes: BatchChanges,
                           marks: Marks | None = None) -> None:
    """Rewrite the access rows whose inputs the batch changed, and only those.

    A changed owner or group recomputes the whole charger; a changed share only its
    (charger, user) row; a changed role only that user's rows on the group's chargers.
    Effective level = the highest reason: owner → manage, group owner/admin → manage,
    group member → charge, share → its level; `standing_level` leaves time-bound shares
    out and `timebound` says a reader must evaluate them. Every reason is kept in `why`,
    highest first. Unchanged rows are left alone and rows that lost every reason are deleted, in
    one statement: the rows it deletes and the rows it upserts are disjoint.

    A changed charger's or membership's pairs are found by a statement before it, and the
    recompute gets every pair as arrays: planned for their real number. Found inside it,
    as a union, they were guessed at 100 rows whatever their number, so a share's single
    row joined the whole chargers table by a sequential scan: 17 ms a change at 100 k
    events, growing with the fleet. The pairs that lost every reason are a set difference
    (`gone`): as an anti-join, the planner's guess of a few grouped rows made it a nested
    loop, pairs times pairs (2 000 pairs: 2 M comparisons, 0.43 s at 1 M events).

    The same statement keeps `access_history`: each row it changes or deletes closes the
    pair's open interval, and each row it writes opens one, at the position and time of
    the command that changed the pair (`marks`: per charger, else the default).
    """
    marks = marks or Marks({}, 0, datetime.min.replace(tzinfo=UTC))
    whole = changes.touched_chargers
    pairs = {p for p in changes.touched_pairs if p[0] not in whole}
    memberships = list(changes.touched_memberships)
    if whole or memberships:
        rows = await conn.fetch(render(_PAIRS, schema), list(whole),
                                [g for g, _ in memberships], [u for _, u in memberships])
        pairs.update((r["charger_id"], r["user_id"]) for r in rows)
    if not pairs:
        return
    await conn.execute(
        render(_RECOMPUTE_ACCESS, schema),
        [c for c, _ in pairs],
        [u for _, u in pairs],
        list(marks.chargers),
        [p for p, _ in marks.chargers.values()],
        [t for _, t in marks.chargers.values()],
        marks.position,
        marks.time,
    )
