"""The local lists' tables: each charger's versions, and its entries with the version
that added and the version that removed them.

Full = the entries not removed; Differential since N = the entries added or removed after
N. Both are index lookups. A segment's lists are recomputed from the tables just written
(chargers, group members, shares, charge keys) and compared with the stored Full content:
a new version only when they differ, version 1 when the charger has none yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from services.access.domain.pseudonyms import pseudonymous_id_token
from services.access.domain.windows import Window
from services.access.local_lists.content import Holder, Key, full_list
from services.access.local_lists.entries import EntryInfo, TokenKey, forgotten_key_token
from services.access.local_lists.segments import Mark, Segment
from services.access.local_lists.versioning import changes_between
from services.access.projection.sql import Connection, render
from services.access.projection.tables.arrays import execute_rows, json_text

DDL = """
CREATE TABLE IF NOT EXISTS {s}.local_list_versions (
    charger_id uuid NOT NULL,
    version integer NOT NULL,
    position bigint NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (charger_id, version)
);
CREATE INDEX IF NOT EXISTS local_list_versions_position
    ON {s}.local_list_versions (position, charger_id);

CREATE TABLE IF NOT EXISTS {s}.local_list_entries (
    charger_id uuid NOT NULL,
    id_token text NOT NULL,
    type text NOT NULL,
    info jsonb NOT NULL,
    user_id uuid NOT NULL,
    key_id uuid NOT NULL,
    added_in integer NOT NULL,
    removed_in integer,
    PRIMARY KEY (charger_id, id_token, type, added_in)
);
CREATE INDEX IF NOT EXISTS local_list_entries_current
    ON {s}.local_list_entries (charger_id) WHERE removed_in IS NULL;
CREATE INDEX IF NOT EXISTS local_list_entries_removed
    ON {s}.local_list_entries (charger_id, removed_in) WHERE removed_in IS NOT NULL;
CREATE INDEX IF NOT EXISTS local_list_entries_added
    ON {s}.local_list_entries (charger_id, added_in);
DROP INDEX IF EXISTS {s}.local_list_entries_current_user;
CREATE INDEX IF NOT EXISTS local_list_entries_current_of_user
    ON {s}.local_list_entries (user_id) WHERE removed_in IS NULL;

-- The lists a user's change reaches (`reached_by`: chargers they own, share, or reach
-- through a group): without these, every key change scanned every share and charger.
CREATE INDEX IF NOT EXISTS shares_user ON {s}.shares (user_id, charger_id);
CREATE INDEX IF NOT EXISTS chargers_owner ON {s}.chargers (owner_id, charger_id);
"""

_CHARGERS_OF_GROUPS = """
    SELECT charger_id FROM {s}.chargers WHERE group_id = ANY($1::uuid[])"""

_CHARGERS_OF_USERS = """
    SELECT charger_id FROM {s}.chargers WHERE owner_id = ANY($1::uuid[])
    UNION SELECT c.charger_id FROM {s}.group_members m
        JOIN {s}.chargers c ON c.group_id = m.group_id WHERE m.user_id = ANY($1::uuid[])
    UNION SELECT charger_id FROM {s}.shares WHERE user_id = ANY($1::uuid[])"""

_HOLDERS = """
    WITH c AS (SELECT charger_id, owner_id, group_id FROM {s}.chargers
               WHERE charger_id = ANY($1::uuid[])),
    standing AS (
        SELECT charger_id, owner_id AS user_id FROM c
        UNION SELECT c.charger_id, m.user_id FROM c
            JOIN {s}.group_members m ON m.group_id = c.group_id
    )
    SELECT coalesce(st.charger_id, sh.charger_id) AS charger_id,
           coalesce(st.user_id, sh.user_id) AS user_id,
           st.user_id IS NOT NULL AS standing, sh.user_id IS NOT NULL AS has_share,
           sh.valid_from, sh.valid_until, sh.schedule, sh.in_effect, sh.effect_at
    FROM standing st FULL JOIN
        (SELECT * FROM {s}.shares WHERE charger_id = ANY($1::uuid[])) sh
        ON sh.charger_id = st.charger_id AND sh.user_id = st.user_id"""

_HOLDERS_AMONG = """
    WITH p AS (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[]) AS p(charger_id, user_id))
    SELECT p.charger_id, p.user_id,
           (c.owner_id = p.user_id OR m.user_id IS NOT NULL) AS standing,
           sh.user_id IS NOT NULL AS has_share,
           sh.valid_from, sh.valid_until, sh.schedule, sh.in_effect, sh.effect_at
    FROM p JOIN {s}.chargers c ON c.charger_id = p.charger_id
    LEFT JOIN {s}.group_members m ON m.group_id = c.group_id AND m.user_id = p.user_id
    LEFT JOIN {s}.shares sh ON sh.charger_id = p.charger_id AND sh.user_id = p.user_id
    WHERE c.owner_id = p.user_id OR m.user_id IS NOT NULL OR sh.user_id IS NOT NULL"""
"""`_HOLDERS` for given (charger, user) pairs only: the same rows, the others left out."""

_KEYS = """
    SELECT user_id, key_id, id_token, type, blocked FROM {s}.charge_keys
    WHERE user_id = ANY($1::uuid[])"""

_LATEST_VERSIONS = """
    SELECT c.charger_id, (SELECT max(v.version) FROM {s}.local_list_versions v
                          WHERE v.charger_id = c.charger_id) AS version
    FROM {s}.chargers c WHERE c.charger_id = ANY($1::uuid[])"""
"""The chargers that exist, each with its list's latest version (null before its first):
one index probe per charger, where `max(version) ... GROUP BY` read every version of
each (1 ms a segment at 1 M events, and growing with each list's age)."""

_CURRENT = """
    SELECT charger_id, id_token, type, info FROM {s}.local_list_entries
    WHERE charger_id = ANY($1::uuid[]) AND removed_in IS NULL"""

_CURRENT_OF_USERS = """
    SELECT charger_id, user_id, id_token, type, info FROM {s}.local_list_entries
    WHERE user_id = ANY($1::uuid[]) AND removed_in IS NULL"""
"""The current entries of a scoped update's users, on every charger (the caller keeps the
pairs asked): a few users' entries are an index range, where joining thousands of
(charger, user) pairs had the planner hash the whole table at 100 k events."""

_INSERT_VERSIONS = """
    INSERT INTO {s}.local_list_versions (charger_id, version, position, changed_at)
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::timestamptz[])"""

_REMOVE_ENTRIES = """
    UPDATE {s}.local_list_entries e SET removed_in = x.v
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[]) AS x(c, t, ty, v)
    WHERE e.charger_id = x.c AND e.id_token = x.t AND e.type = x.ty AND e.removed_in IS NULL"""

_ADD_ENTRIES = """
    INSERT INTO {s}.local_list_entries
        (charger_id, id_token, type, info, user_id, key_id, added_in)
    SELECT c, t, ty, i::jsonb, u, k, v
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::uuid[],
                $7::int[]) AS x(c, t, ty, i, u, k, v)"""

_FORGOTTEN_KEYS = "SELECT DISTINCT key_id FROM {s}.local_list_entries WHERE user_id = $1"

_FORGET = "UPDATE {s}.local_list_entries SET id_token = $2 WHERE key_id = $1"


async def create_local_list_tables(conn: Connection, schema: str) -> None:
    await conn.execute(render(DDL, schema))


async def reached_by(conn: Connection, s: str, segment: Segment[Any]) -> set[UUID]:
    """The chargers whose list a wide segment may change, as the tables stand now."""
    found: set[UUID] = set(segment.chargers)
    if segment.groups:
        rows = await conn.fetch(render(_CHARGERS_OF_GROUPS, s), list(segment.groups))
        found.update(r["charger_id"] for r in rows)
    if segment.users:
        rows = await conn.fetch(render(_CHARGERS_OF_USERS, s), list(segment.users))
        found.update(r["charger_id"] for r in rows)
    return found


async def update_local_lists(conn: Connection, s: str, marks: dict[UUID, Mark],
                             scopes: Mapping[UUID, frozenset[UUID] | None] | None = None
                             ) -> None:
    """Give each charger in `marks` a new version at its mark if its Full list changed.

    `scopes` (`Segment.scope`) says whose entries may have changed on a charger; only
    theirs are computed and compared, so a share costs one user's keys, not a list's.
    A charger not in it, or without a version yet, is computed whole."""
    if not marks:
        return
    chargers = list(marks)
    latest = await conn.fetch(render(_LATEST_VERSIONS, s), chargers)
    existing = {r["charger_id"] for r in latest}
    if not existing:
        return
    versions = {r["charger_id"]: r["version"] for r in latest if r["version"] is not None}
    scoped = {c: users for c in existing if c in versions
              and (users := (scopes or {}).get(c)) is not None}
    whole = [c for c in existing if c not in scoped]
    among = [(c, u) for c, users in scoped.items() for u in users]
    lists, holders = await computed_lists(conn, s, whole, among)
    stored: dict[UUID, dict[TokenKey, EntryInfo]] = {c: {} for c in existing}
    rows = list(await conn.fetch(render(_CURRENT, s), whole) if whole else [])
    if among:
        pairs = set(among)
        rows.extend(r for r in await conn.fetch(render(_CURRENT_OF_USERS, s),
                                                list({u for _, u in among}))
                    if (r["charger_id"], r["user_id"]) in pairs)
    for r in rows:
        stored[r["charger_id"]][TokenKey(r["id_token"], r["type"])] = EntryInfo.from_data(
            json.loads(r["info"]))
    new_versions: list[tuple[Any, ...]] = []
    removed: list[tuple[Any, ...]] = []
    added: list[tuple[Any, ...]] = []
    for charger_id in sorted(existing):
        changes = changes_between(stored[charger_id], lists[charger_id])
        if charger_id in versions and not changes:
            continue
        version = versions.get(charger_id, 0) + 1
        mark = marks[charger_id]
        new_versions.append((charger_id, version, mark.position, mark.time))
        for key, info in changes.items():
            if key in stored[charger_id]:
                removed.append((charger_id, key.id_token, key.type, version))
            if info is not None:
                user_id, key_id = holders[charger_id, key]
                added.append((charger_id, key.id_token, key.type, json_text(info.to_data()),
                              user_id, key_id, version))
    await execute_rows(conn, s, _INSERT_VERSIONS, new_versions)
    await execute_rows(conn, s, _REMOVE_ENTRIES, removed)
    await execute_rows(conn, s, _ADD_ENTRIES, added)


async def forget_in_local_lists(conn: Connection, s: str, user_id: UUID) -> None:
    """A forgotten user's tokens, in every version, as a rebuild reads them: the log reads
    each as the user's pseudonym, and `computed_lists` tells their keys apart again."""
    rows = await conn.fetch(render(_FORGOTTEN_KEYS, s), user_id)
    await conn.executemany(render(_FORGET, s),
                           [(r["key_id"], forgotten_key_token(r["key_id"])) for r in rows])


async def computed_lists(
    conn: Connection, s: str, chargers: list[UUID],
    among: list[tuple[UUID, UUID]] | None = None,
) -> tuple[dict[UUID, dict[TokenKey, EntryInfo]],
           dict[tuple[UUID, TokenKey], tuple[UUID, UUID]]]:
    """Each charger's Full list as the tables give it now, and whose key (user, key id)
    each entry is; for the (charger, user) pairs of `among`, only those users' entries.
    A forgotten user's keys all read as one pseudonym in the log: each gets a token of
    its own (`forgotten_key_token`), so their entries stay apart, as they were while the
    tokens were readable."""
    among = among or []
    holders: dict[UUID, list[tuple[UUID, Holder]]] = {c: [] for c in chargers}
    holders.update({c: [] for c, _ in among})
    rows = [*(await conn.fetch(render(_HOLDERS, s), chargers) if chargers else []),
            *(await conn.fetch(render(_HOLDERS_AMONG, s), [c for c, _ in among],
                               [u for _, u in among]) if among else [])]
    for r in rows:
        holders.setdefault(r["charger_id"], []).append((r["user_id"], _holder(r)))
    users = list({u for rows in holders.values() for u, _ in rows})
    keys: dict[UUID, list[Key]] = {}
    key_ids: dict[tuple[UUID, TokenKey], UUID] = {}
    for r in await conn.fetch(render(_KEYS, s), users):
        token = r["id_token"]
        if token == pseudonymous_id_token(r["user_id"]):
            token = forgotten_key_token(r["key_id"])
        keys.setdefault(r["user_id"], []).append(Key(token, r["type"], r["blocked"]))
        key_ids[r["user_id"], TokenKey(token, r["type"])] = r["key_id"]
    lists = {c: full_list(_with_keys(rows, keys)) for c, rows in holders.items()}
    owners = {(c, TokenKey(k.id_token, k.type)): (user_id, key_ids[user_id, TokenKey(
                  k.id_token, k.type)])
              for c, rows in holders.items() for user_id, _ in rows for k in keys.get(user_id, [])}
    return lists, owners


def _with_keys(
    rows: list[tuple[UUID, Holder]], keys: dict[UUID, list[Key]]
) -> Iterable[tuple[Holder, list[Key]]]:
    return ((holder, keys.get(user_id, [])) for user_id, holder in rows)


def _holder(r: Any) -> Holder:
    if not r["has_share"]:
        return Holder(standing=r["standing"])
    schedule = r["schedule"]
    window = Window.from_data({
        "valid_from": r["valid_from"], "valid_until": r["valid_until"],
        "schedule": None if schedule is None else json.loads(schedule)})
    return Holder(standing=r["standing"], has_share=True, share_window=window,
                  share_in_effect=r["in_effect"], effect_at=r["effect_at"])
