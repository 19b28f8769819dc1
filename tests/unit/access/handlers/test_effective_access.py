"""Effective access: the highest of owner, group role (owner/admin → manage,
member → charge) and share."""

from __future__ import annotations

from uuid import uuid4

from tests.unit.access.scenario import Scenario


def test_charger_owner_manages_it(s: Scenario) -> None:
    fleet_owner, owner = s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner])
    charger = s.charger(owner, group=fleet)
    s.ok("RemoveGroupMember", fleet_owner, group_id=fleet, user_id=owner)
    assert s.level(owner, charger) == "manage"


def test_group_owner_and_admin_manage_member_charges_stranger_has_none(s: Scenario) -> None:
    fleet_owner, owner, admin, member, stranger = (s.user() for _ in range(5))
    fleet = s.group(fleet_owner, admins=[owner, admin], members=[member])
    charger = s.charger(owner, group=fleet)
    assert s.level(fleet_owner, charger) == "manage"
    assert s.level(admin, charger) == "manage"
    assert s.level(member, charger) == "charge"
    assert s.level(stranger, charger) is None


def test_share_gives_its_level(s: Scenario) -> None:
    owner, charging, managing = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    s.share(owner, charging, [charger], level="charge")
    s.share(owner, managing, [charger], level="manage")
    assert s.level(charging, charger) == "charge"
    assert s.level(managing, charger) == "manage"


def test_highest_of_role_and_share_wins(s: Scenario) -> None:
    fleet_owner, member, admin = s.user(), s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[admin], members=[member])
    charger = s.charger(fleet_owner, group=fleet)
    s.ok("UpdateUserAccess", fleet_owner, user_id=member, charger_ids=[charger],
         level="manage")
    s.ok("UpdateUserAccess", fleet_owner, user_id=admin, charger_ids=[charger],
         level="charge")
    assert s.level(member, charger) == "manage"
    assert s.level(admin, charger) == "manage"


def test_managing_by_share_lets_a_member_invite(s: Scenario) -> None:
    fleet_owner, member = s.user(), s.user()
    fleet = s.group(fleet_owner, members=[member])
    charger = s.charger(fleet_owner, group=fleet)
    assert s.run("InviteUser", member, invitation_id=uuid4(), email="x@example.com",
                 charger_ids=[charger]).reason == "forbidden"
    s.ok("UpdateUserAccess", fleet_owner, user_id=member, charger_ids=[charger],
         level="manage")
    s.invite(member, "x@example.com", [charger])
