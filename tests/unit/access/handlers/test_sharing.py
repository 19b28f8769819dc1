"""UpdateUserAccess and RemoveUser (the Wallbox edit / remove flow)."""

from __future__ import annotations

from uuid import uuid4

from tests.unit.access.scenario import Scenario

# -- UpdateUserAccess -------------------------------------------------------------------


def test_update_user_access_grants_listed_chargers_in_one_changed_event(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    chargers = [s.charger(owner), s.charger(owner)]
    command_id = str(uuid4())
    result = s.run("UpdateUserAccess", owner, command_id=command_id, user_id=guest,
                   charger_ids=chargers, level="manage")
    assert result.status == "accepted"
    grants = s.of_type("AccessGranted")
    assert {g["charger_id"] for g in grants} == {str(c) for c in chargers}
    for grant in grants:
        assert grant["user_id"] == str(guest)
        assert grant["level"] == "manage"
        assert grant["source"] == {"kind": "update", "command_id": command_id}
    [changed] = s.of_type("UserAccessChanged")
    assert changed["user"]["user_id"] == str(guest)
    assert changed["changed_by"]["user_id"] == str(owner)
    assert [c["charger_id"] for c in changed["chargers"]] == [str(c) for c in chargers]
    assert changed["level"] == "manage"
    assert s.types().count("UserAccessChanged") == 1
    assert all(s.level(guest, c) == "manage" for c in chargers)
    assert result.position == s.events[-1].sequence


def test_update_user_access_revokes_unlisted_chargers_the_actor_manages(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    keep, drop, add = s.charger(owner), s.charger(owner), s.charger(owner)
    s.share(owner, guest, [keep, drop])
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[keep, add])
    assert s.of_type("AccessGranted") == [
        {"charger_id": str(add), "user_id": str(guest), "level": "charge",
         "source": s.of_type("AccessGranted")[0]["source"],
         "valid_from": None, "valid_until": None, "schedule": None}]
    assert s.of_type("AccessRevoked") == [
        {"charger_id": str(drop), "user_id": str(guest), "reason": "updated"}]
    assert len(s.of_type("UserAccessChanged")) == 1
    assert s.level(guest, keep) == "charge"
    assert s.level(guest, drop) is None
    assert s.level(guest, add) == "charge"


def test_update_user_access_leaves_shares_on_chargers_the_actor_does_not_manage(
    s: Scenario,
) -> None:
    owner, neighbour, guest = s.user(), s.user(), s.user()
    mine, theirs = s.charger(owner), s.charger(neighbour)
    s.share(owner, guest, [mine])
    s.share(neighbour, guest, [theirs])
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[])
    assert s.of_type("AccessRevoked") == [
        {"charger_id": str(mine), "user_id": str(guest), "reason": "updated"}]
    assert s.level(guest, theirs) == "charge"
    assert s.level(guest, mine) is None


def test_update_user_access_is_forbidden_if_a_listed_charger_is_not_managed(
    s: Scenario,
) -> None:
    owner, neighbour, guest = s.user(), s.user(), s.user()
    mine, theirs = s.charger(owner), s.charger(neighbour)
    s.share(owner, guest, [mine])
    result = s.run("UpdateUserAccess", owner, user_id=guest, charger_ids=[theirs])
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.events == []
    assert s.level(guest, mine) == "charge"


def test_update_user_access_changes_the_level_of_an_existing_share(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.share(owner, guest, [charger], level="manage")
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], level="charge")
    assert [g["level"] for g in s.of_type("AccessGranted")] == ["charge"]
    assert s.level(guest, charger) == "charge"


def test_update_user_access_that_changes_nothing_publishes_nothing(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.share(owner, guest, [charger])
    result = s.run("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger])
    assert result.status == "accepted"
    assert s.events == []


def test_update_user_access_by_a_group_admin_covers_the_groups_chargers(s: Scenario) -> None:
    owner, admin, guest = s.user(), s.user(), s.user()
    group_id = s.group(owner, admins=[admin])
    fleet = s.charger(owner, group=group_id)
    private = s.charger(owner)
    s.share(owner, guest, [fleet, private])
    s.ok("UpdateUserAccess", admin, user_id=guest, charger_ids=[])
    assert s.level(guest, fleet) is None
    assert s.level(guest, private) == "charge"


def test_update_user_access_of_an_unknown_user_is_not_found(s: Scenario) -> None:
    owner = s.user()
    charger = s.charger(owner)
    result = s.run("UpdateUserAccess", owner, user_id=uuid4(), charger_ids=[charger])
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_update_user_access_to_an_unknown_charger_is_not_found(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    result = s.run("UpdateUserAccess", owner, user_id=guest, charger_ids=[uuid4()])
    assert result.reason == "not_found"


# -- RemoveUser -------------------------------------------------------------------------


def test_remove_user_revokes_every_share_on_chargers_the_actor_manages(s: Scenario) -> None:
    owner, neighbour, guest = s.user(), s.user(), s.user()
    mine = [s.charger(owner), s.charger(owner)]
    theirs = s.charger(neighbour)
    s.share(owner, guest, mine)
    s.share(neighbour, guest, [theirs])
    result = s.run("RemoveUser", owner, user_id=guest)
    assert result.status == "accepted"
    revoked = s.of_type("AccessRevoked")
    assert {r["charger_id"] for r in revoked} == {str(c) for c in mine}
    assert {r["reason"] for r in revoked} == {"user_removed"}
    [removed] = s.of_type("UserAccessRemoved")
    assert removed["user"]["user_id"] == str(guest)
    assert removed["removed_by"]["user_id"] == str(owner)
    assert {c["charger_id"] for c in removed["chargers"]} == {str(c) for c in mine}
    assert all(s.level(guest, c) is None for c in mine)
    assert s.level(guest, theirs) == "charge"


def test_remove_user_revokes_the_actors_pending_invitations_to_their_email(
    s: Scenario,
) -> None:
    owner, guest = s.user(), s.user(email="guest@example.com")
    charger = s.charger(owner)
    invitation_id, token = s.invite(owner, "Guest@Example.com", [charger])
    s.ok("RemoveUser", owner, user_id=guest)
    assert s.of_type("InvitationRevoked") == [
        {"invitation_id": str(invitation_id), "email": "Guest@Example.com", "locale": "en",
         "reason": "user_removed"}]
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "not_pending"


def test_remove_user_leaves_other_inviters_pending_invitations(s: Scenario) -> None:
    owner, neighbour, guest = s.user(), s.user(), s.user()
    mine, theirs = s.charger(owner), s.charger(neighbour)
    my_invitation, _ = s.invite(owner, s.emails[guest], [mine])
    their_invitation, token = s.invite(neighbour, s.emails[guest], [theirs])
    other_address, _ = s.invite(owner, "someone.else@example.com", [mine])
    s.ok("RemoveUser", owner, user_id=guest)
    assert [r["invitation_id"] for r in s.of_type("InvitationRevoked")] == [str(my_invitation)]
    assert s.invitation_state(their_invitation).status == "pending"
    assert s.invitation_state(other_address).status == "pending"
    s.ok("AcceptInvitation", guest, invitation_id=their_invitation, token=token)


def test_remove_user_with_nothing_to_remove_publishes_nothing(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    s.charger(owner)
    result = s.run("RemoveUser", owner, user_id=guest)
    assert result.status == "accepted"
    assert s.events == []


def test_remove_unknown_user_is_not_found(s: Scenario) -> None:
    owner = s.user()
    result = s.run("RemoveUser", owner, user_id=uuid4())
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_removed_user_can_be_shared_with_again(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.share(owner, guest, [charger])
    s.ok("RemoveUser", owner, user_id=guest)
    s.share(owner, guest, [charger])
    assert s.level(guest, charger) == "charge"
