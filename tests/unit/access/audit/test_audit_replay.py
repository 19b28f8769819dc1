"""Access replayed from envelopes agrees with the domain's own rule, at every step and time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from charger_access_client.envelope import EventEnvelope
from services.access.audit.replay import AccessState, replay_until
from tests.unit.access.scenario import Scenario


def replayed(s: Scenario) -> AccessState:
    state = AccessState()
    for envelope in s.published_since(0):
        state.apply(envelope)
    return state


def assert_agrees_with_domain(s: Scenario, users, chargers) -> None:
    state = replayed(s)
    for charger in chargers:
        levels = {e["user_id"]: e["level"] for e in state.users_of(str(charger))}
        for user in users:
            assert levels.get(str(user)) == s.level(user, charger), (user, charger)


def test_replay_agrees_with_the_domain_through_shares_roles_and_transfers():
    s = Scenario()
    owner, admin, member, guest, heir = s.user(), s.user(), s.user(), s.user(), s.user()
    fleet = s.group(owner, admins=[admin], members=[member])
    home, shared = s.charger(owner), s.charger(owner, fleet)
    users, chargers = [owner, admin, member, guest, heir], [home, shared]
    assert_agrees_with_domain(s, users, chargers)
    s.share(owner, guest, [home, shared])
    assert_agrees_with_domain(s, users, chargers)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[home], level="manage")
    assert_agrees_with_domain(s, users, chargers)
    s.ok("MoveChargerToGroup", owner, charger_id=home, group_id=fleet)
    assert_agrees_with_domain(s, users, chargers)
    s.ok("RemoveGroupMember", owner, group_id=fleet, user_id=member)
    assert_agrees_with_domain(s, users, chargers)
    s.ok("TransferChargerToUser", owner, charger_id=home, recipient_email=s.emails[heir],
         keep_connection=True)
    assert_agrees_with_domain(s, users, chargers)


def test_reasons_are_ordered_highest_first_then_owner_group_share():
    s = Scenario()
    owner, guest = s.user(), s.user()
    fleet = s.group(owner, members=[guest])
    charger = s.charger(owner, fleet)
    s.share(owner, guest, [charger], level="manage")
    entries = {e["user_id"]: e for e in replayed(s).users_of(str(charger))}
    assert [w["source"] for w in entries[str(owner)]["why"]] == ["owner", "group:owner"]
    assert entries[str(guest)]["level"] == "manage"
    assert [w["source"] for w in entries[str(guest)]["why"]] == ["share", "group:member"]
    assert "invitation_id" in entries[str(guest)]["why"][0]


async def _each(envelopes: list[EventEnvelope]) -> AsyncIterator[EventEnvelope]:
    for envelope in envelopes:
        yield envelope


async def test_replay_until_leaves_out_what_happened_after():
    s = Scenario()
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    before = s.now
    s.advance(days=2)
    s.share(owner, guest, [charger])
    events = s.published_since(0)
    then = await replay_until(_each(events), before + timedelta(days=1))
    now = await replay_until(_each(events), s.now)
    assert [e["user_id"] for e in then.users_of(str(charger))] == [str(owner)]
    assert str(guest) in [e["user_id"] for e in now.users_of(str(charger))]
    assert then.chargers_of(str(guest)) == []


def test_an_unknown_charger_has_no_access():
    state = AccessState()
    assert not state.knows_charger("nope")
    assert state.users_of("nope") == []
