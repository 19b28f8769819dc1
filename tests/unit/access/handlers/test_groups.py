"""CreateGroup, AddGroupMember, RemoveGroupMember."""

from __future__ import annotations

from uuid import uuid4

from tests.unit.access.scenario import Scenario


def test_create_group_makes_the_actor_its_owner(s: Scenario) -> None:
    owner = s.user()
    group_id = uuid4()
    result = s.run("CreateGroup", owner, group_id=group_id, name="Depot")
    assert result.status == "accepted"
    assert s.types() == ["GroupCreated"]
    assert s.events[0].subject == str(group_id)
    assert s.events[0].data == {"group_id": str(group_id), "name": "Depot",
                                "owner_id": str(owner), "personal": False}
    assert s.group_state(group_id).role_of(owner) == "owner"


def test_create_group_with_an_existing_id_is_already_exists(s: Scenario) -> None:
    owner = s.user()
    group_id = s.group(owner)
    result = s.run("CreateGroup", owner, group_id=group_id, name="Again")
    assert (result.status, result.reason) == ("rejected", "already_exists")


def test_create_group_with_a_personal_group_id_is_already_exists(s: Scenario) -> None:
    owner = s.user()
    result = s.run("CreateGroup", owner, group_id=owner, name="Mine")
    assert result.reason == "already_exists"


def test_create_group_by_an_unregistered_actor_is_not_found(s: Scenario) -> None:
    result = s.run("CreateGroup", uuid4(), group_id=uuid4(), name="Ghosts")
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_owner_adds_an_admin(s: Scenario) -> None:
    owner, admin = s.user(), s.user()
    group_id = s.group(owner)
    result = s.run("AddGroupMember", owner, group_id=group_id, user_id=admin, role="admin")
    assert result.status == "accepted"
    assert s.types() == ["GroupMemberAdded"]
    assert s.events[0].data == {"group_id": str(group_id), "user_id": str(admin),
                                "role": "admin"}
    assert s.events[0].subject == str(group_id)


def test_admin_adds_a_member(s: Scenario) -> None:
    owner, admin, member = s.user(), s.user(), s.user()
    group_id = s.group(owner, admins=[admin])
    result = s.run("AddGroupMember", admin, group_id=group_id, user_id=member, role="member")
    assert result.status == "accepted"
    assert s.group_state(group_id).role_of(member) == "member"


def test_member_may_not_add_members(s: Scenario) -> None:
    owner, member, other = s.user(), s.user(), s.user()
    group_id = s.group(owner, members=[member])
    result = s.run("AddGroupMember", member, group_id=group_id, user_id=other, role="member")
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.events == []


def test_outsider_may_not_add_themselves(s: Scenario) -> None:
    owner, outsider = s.user(), s.user()
    group_id = s.group(owner)
    result = s.run("AddGroupMember", outsider, group_id=group_id, user_id=outsider,
                   role="admin")
    assert result.reason == "forbidden"


def test_adding_the_owner_as_member_is_forbidden(s: Scenario) -> None:
    owner, admin = s.user(), s.user()
    group_id = s.group(owner, admins=[admin])
    result = s.run("AddGroupMember", admin, group_id=group_id, user_id=owner, role="member")
    assert result.reason == "forbidden"
    assert s.group_state(group_id).role_of(owner) == "owner"


def test_add_group_member_changes_the_role_of_an_existing_member(s: Scenario) -> None:
    owner, user = s.user(), s.user()
    group_id = s.group(owner, members=[user])
    s.ok("AddGroupMember", owner, group_id=group_id, user_id=user, role="admin")
    assert s.of_type("GroupMemberAdded")[0]["role"] == "admin"
    assert s.group_state(group_id).role_of(user) == "admin"


def test_add_group_member_with_the_same_role_again_publishes_nothing(s: Scenario) -> None:
    owner, user = s.user(), s.user()
    group_id = s.group(owner, members=[user])
    result = s.run("AddGroupMember", owner, group_id=group_id, user_id=user, role="member")
    assert result.status == "accepted"
    assert s.events == []


def test_add_group_member_to_an_unknown_group_is_not_found(s: Scenario) -> None:
    owner, user = s.user(), s.user()
    result = s.run("AddGroupMember", owner, group_id=uuid4(), user_id=user, role="member")
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_add_group_member_of_an_unknown_user_is_not_found(s: Scenario) -> None:
    owner = s.user()
    group_id = s.group(owner)
    result = s.run("AddGroupMember", owner, group_id=group_id, user_id=uuid4(), role="member")
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_owner_removes_a_member(s: Scenario) -> None:
    owner, member = s.user(), s.user()
    group_id = s.group(owner, members=[member])
    result = s.run("RemoveGroupMember", owner, group_id=group_id, user_id=member)
    assert result.status == "accepted"
    assert s.types() == ["GroupMemberRemoved"]
    assert s.events[0].data == {"group_id": str(group_id), "user_id": str(member)}
    assert s.group_state(group_id).role_of(member) is None


def test_admin_removes_a_member(s: Scenario) -> None:
    owner, admin, member = s.user(), s.user(), s.user()
    group_id = s.group(owner, admins=[admin], members=[member])
    assert s.run("RemoveGroupMember", admin, group_id=group_id, user_id=member).status == (
        "accepted")


def test_member_may_not_remove_members(s: Scenario) -> None:
    owner, member, other = s.user(), s.user(), s.user()
    group_id = s.group(owner, members=[member, other])
    result = s.run("RemoveGroupMember", member, group_id=group_id, user_id=other)
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.group_state(group_id).role_of(other) == "member"


def test_the_owner_cannot_be_removed(s: Scenario) -> None:
    owner, admin = s.user(), s.user()
    group_id = s.group(owner, admins=[admin])
    by_admin = s.run("RemoveGroupMember", admin, group_id=group_id, user_id=owner)
    by_owner = s.run("RemoveGroupMember", owner, group_id=group_id, user_id=owner)
    assert by_admin.reason == "forbidden"
    assert by_owner.reason == "forbidden"
    assert s.group_state(group_id).role_of(owner) == "owner"


def test_removing_a_non_member_is_not_found(s: Scenario) -> None:
    owner, stranger = s.user(), s.user()
    group_id = s.group(owner)
    result = s.run("RemoveGroupMember", owner, group_id=group_id, user_id=stranger)
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_remove_group_member_of_an_unknown_group_is_not_found(s: Scenario) -> None:
    owner, user = s.user(), s.user()
    result = s.run("RemoveGroupMember", owner, group_id=uuid4(), user_id=user)
    assert result.reason == "not_found"


def test_removed_member_loses_charge_access_to_the_groups_chargers(s: Scenario) -> None:
    owner, member = s.user(), s.user()
    group_id = s.group(owner, members=[member])
    charger = s.charger(owner, group=group_id)
    assert s.level(member, charger) == "charge"
    s.ok("RemoveGroupMember", owner, group_id=group_id, user_id=member)
    assert s.level(member, charger) is None
