"""The projection against the real PostgreSQL: effective access, why, exactly once."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from charger_access_client import access_events as ev
from services.access.projection.apply import apply, read_position
from services.access.projection.schema import create_schema
from tests.unit.access.event_builders import ScriptedLog, person, ref

pytestmark = pytest.mark.integration


async def access_of(db: asyncpg.Connection, schema: str, charger_id: UUID) -> dict[UUID, Any]:
    rows = await db.fetch(
        f'SELECT user_id, level, why FROM "{schema}".access WHERE charger_id = $1', charger_id
    )
    return {r["user_id"]: (r["level"], json.loads(r["why"])) for r in rows}


async def snapshot(db: asyncpg.Connection, schema: str) -> dict[str, list[Any]]:
    tables = ["users", "groups", "group_members", "chargers", "shares", "invitations", "access"]
    result = {}
    for table in tables:
        rows = await db.fetch(f'SELECT * FROM "{schema}".{table} ORDER BY 1, 2')
        result[table] = [tuple(r.values()) for r in rows]
    return result


async def test_owner_gets_manage_from_ownership_and_personal_group(db, schema):
    log = ScriptedLog()
    owner = log.user()
    charger = log.charger(owner)
    await apply(db, log.take(), schema)

    assert await access_of(db, schema, charger) == {
        owner: (
            "manage",
            [
                {"source": "owner", "level": "manage"},
                {"source": "group:owner", "group_id": str(owner), "level": "manage"},
            ],
        )
    }


async def test_group_roles_give_manage_to_admins_and_charge_to_members(db, schema):
    log = ScriptedLog()
    owner, admin, member = log.user(), log.user(), log.user()
    fleet = log.group(owner)
    log.member(fleet, admin, "admin")
    log.member(fleet, member, "member")
    charger = log.charger(owner, fleet)
    await apply(db, log.take(), schema)

    access = await access_of(db, schema, charger)
    assert access[admin] == (
        "manage",
        [{"source": "group:admin", "group_id": str(fleet), "level": "manage"}],
    )
    assert access[member] == (
        "charge",
        [{"source": "group:member", "group_id": str(fleet), "level": "charge"}],
    )
    assert access[owner][0] == "manage"

    # Removing the member in a later batch takes its access away.
    log.add(ev.GroupMemberRemoved(group_id=fleet, user_id=member), fleet)
    await apply(db, log.take(), schema)
    assert member not in await access_of(db, schema, charger)


async def test_share_level_and_source_and_revocation(db, schema):
    log = ScriptedLog()
    owner, guest, helper = log.user(), log.user(), log.user()
    charger = log.charger(owner)
    invitation = log.invite(owner, [charger])
    log.grant(charger, guest, "charge", invitation_id=invitation)
    log.grant(charger, helper, "manage")
    await apply(db, log.take(), schema)

    access = await access_of(db, schema, charger)
    assert access[guest] == (
        "charge",
        [{"source": "share", "invitation_id": str(invitation), "level": "charge"}],
    )
    assert access[helper] == (
        "manage",
        [{"source": "share", "command_id": "cmd-1", "level": "manage"}],
    )

    log.revoke(charger, guest)
    await apply(db, log.take(), schema)
    access = await access_of(db, schema, charger)
    assert guest not in access
    assert helper in access


async def test_highest_reason_wins_and_every_reason_is_listed(db, schema):
    log = ScriptedLog()
    owner, user = log.user(), log.user()
    fleet = log.group(owner)
    log.member(fleet, user, "member")
    charger = log.charger(owner, fleet)
    log.grant(charger, user, "manage")
    await apply(db, log.take(), schema)

    level, why = (await access_of(db, schema, charger))[user]
    assert level == "manage"
    assert [w["source"] for w in why] == ["share", "group:member"]


async def test_grant_then_revoke_in_one_batch_leaves_no_share(db, schema):
    log = ScriptedLog()
    owner, guest = log.user(), log.user()
    charger = log.charger(owner)
    log.grant(charger, guest)
    log.revoke(charger, guest)
    log.add(ev.GroupMemberAdded(group_id=owner, user_id=guest, role="member"), owner)
    log.add(ev.GroupMemberRemoved(group_id=owner, user_id=guest), owner)
    await apply(db, log.take(), schema)

    assert set(await access_of(db, schema, charger)) == {owner}


async def test_move_to_group_keeps_shares_and_swaps_group_access(db, schema):
    log = ScriptedLog()
    owner, guest, colleague = log.user(), log.user(), log.user()
    fleet = log.group(owner)
    log.member(fleet, colleague, "member")
    charger = log.charger(owner)
    log.grant(charger, guest)
    await apply(db, log.take(), schema)
    assert colleague not in await access_of(db, schema, charger)

    log.add(
        ev.ChargerMovedToGroup(charger_id=charger, from_group_id=owner, to_group_id=fleet), charger
    )
    await apply(db, log.take(), schema)

    access = await access_of(db, schema, charger)
    assert access[colleague][0] == "charge"
    assert access[guest][0] == "charge"  # shares stay with the charger
    assert [w["source"] for w in access[owner][1]] == ["owner", "group:owner"]
    assert access[owner][1][1]["group_id"] == str(fleet)
    row = await db.fetchrow(
        f'SELECT group_id FROM "{schema}".chargers WHERE charger_id = $1', charger
    )
    assert row["group_id"] == fleet


async def test_ownership_transfer_moves_the_owner_reason(db, schema):
    log = ScriptedLog()
    owner, admin = log.user(), log.user()
    fleet = log.group(owner)
    log.member(fleet, admin, "admin")
    charger = log.charger(owner, fleet)
    log.add(
        ev.ChargerOwnershipTransferred(
            charger_id=charger, charger=ref(charger), from_owner_id=owner, to_owner=person(admin)
        ),
        charger,
    )
    await apply(db, log.take(), schema)

    access = await access_of(db, schema, charger)
    assert [w["source"] for w in access[admin][1]] == ["owner", "group:admin"]
    assert [w["source"] for w in access[owner][1]] == ["group:owner"]


async def test_transfer_to_user_moves_group_owner_and_connection(db, schema):
    log = ScriptedLog()
    owner, recipient, guest = log.user(), log.user(), log.user()
    charger = log.charger(owner)
    log.grant(charger, guest)
    await apply(db, log.take(), schema)

    # The domain ends the shares itself, with AccessRevoked, next to the transfer.
    log.add(
        ev.ChargerTransferredToUser(
            charger_id=charger,
            charger=ref(charger),
            from_owner=person(owner),
            to_user=person(recipient),
            from_group_id=owner,
            to_group_id=recipient,
            connected=False,
        ),
        charger,
    )
    log.add(
        ev.AccessRevoked(charger_id=charger, user_id=guest, reason="charger_transferred"), charger
    )
    await apply(db, log.take(), schema)

    access = await access_of(db, schema, charger)
    assert set(access) == {recipient}
    assert [w["source"] for w in access[recipient][1]] == ["owner", "group:owner"]
    row = await db.fetchrow(f'SELECT * FROM "{schema}".chargers WHERE charger_id = $1', charger)
    assert (row["owner_id"], row["group_id"], row["connected"]) == (recipient, recipient, False)


async def test_invitation_status_follows_its_events(db, schema):
    log = ScriptedLog()
    owner, guest = log.user(), log.user()
    charger = log.charger(owner)
    invitation = log.invite(owner, [charger])
    await apply(db, log.take(), schema)
    row = await db.fetchrow(
        f'SELECT * FROM "{schema}".invitations WHERE invitation_id = $1', invitation
    )
    assert row["status"] == "pending"
    assert "salt" not in json.dumps(dict(row), default=str)

    log.add(
        ev.InvitationAccepted(
            invitation_id=invitation, user_id=guest, charger_ids=[charger], level="charge"
        ),
        invitation,
    )
    await apply(db, log.take(), schema)
    row = await db.fetchrow(
        f'SELECT * FROM "{schema}".invitations WHERE invitation_id = $1', invitation
    )
    assert (row["status"], row["responded_by"]) == ("accepted", guest)


async def test_applying_the_same_batch_twice_changes_nothing(db, schema):
    log = ScriptedLog()
    owner, guest = log.user(), log.user()
    charger = log.charger(owner)
    log.grant(charger, guest)
    batch = log.take()
    assert await apply(db, batch, schema) == batch[-1].position
    before = await snapshot(db, schema)

    assert await apply(db, batch, schema) == batch[-1].position
    assert await snapshot(db, schema) == before
    assert await read_position(db, schema) == batch[-1].position


async def test_overlapping_batches_apply_only_the_new_part(db, schema):
    log = ScriptedLog()
    owner, guest = log.user(), log.user()
    charger = log.charger(owner)
    first = log.take()
    await apply(db, first, schema)
    log.grant(charger, guest)
    log.revoke(charger, guest)
    second = log.take()

    # The old events again, then the new ones: only the new ones count.
    await apply(db, first + second[:1], schema)
    assert guest in await access_of(db, schema, charger)
    await apply(db, second, schema)
    assert guest not in await access_of(db, schema, charger)
    assert await read_position(db, schema) == second[-1].position


async def test_create_schema_is_idempotent(db, schema):
    log = ScriptedLog()
    log.user()
    position = await apply(db, log.take(), schema)
    await create_schema(db, schema)
    assert await read_position(db, schema) == position


class SettingsSeen:
    """The connection `apply` is given, noting the planner settings in effect as each of
    its writes is sent."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.seen: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(await self._conn.fetchrow(
            "SELECT current_setting('plan_cache_mode'), current_setting('random_page_cost')"))
        return await self._conn.execute(*args, **kwargs)


async def test_a_batch_is_planned_with_custom_plans_and_cached_page_costs_only_inside(
    db, schema,
):
    before = await db.fetchrow(
        "SELECT current_setting('plan_cache_mode'), current_setting('random_page_cost')")
    log = ScriptedLog()
    owner = log.user()
    log.charger(owner)
    watching = SettingsSeen(db)
    await apply(watching, log.take(), schema)  # type: ignore[arg-type]
    assert watching.seen, "apply wrote nothing through execute"
    assert {tuple(row) for row in watching.seen} == {("force_custom_plan", "1.1")}
    after = await db.fetchrow(
        "SELECT current_setting('plan_cache_mode'), current_setting('random_page_cost')")
    assert tuple(after) == tuple(before) != ("force_custom_plan", "1.1")
