"""MoveChargerToGroup, TransferChargerOwnership, TransferChargerToUser (the Monta flow)."""

from __future__ import annotations

from uuid import uuid4

from tests.unit.access.scenario import Scenario

# -- MoveChargerToGroup -----------------------------------------------------------------


def test_move_charger_to_a_group_the_actor_administers_keeps_shares(s: Scenario) -> None:
    owner, guest, fleet_owner = s.user(), s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner])
    charger = s.charger(owner)
    s.share(owner, guest, [charger], level="manage")
    result = s.run("MoveChargerToGroup", owner, charger_id=charger, group_id=fleet)
    assert result.status == "accepted"
    assert s.types() == ["ChargerMovedToGroup"]
    assert s.events[0].data == {"charger_id": str(charger), "from_group_id": str(owner),
                                "to_group_id": str(fleet)}
    assert s.charger_state(charger).group_id == fleet
    assert s.shares(charger) == {str(guest): "manage"}
    assert s.level(fleet_owner, charger) == "manage"


def test_move_into_a_group_where_actor_is_only_a_member_is_forbidden(s: Scenario) -> None:
    owner, fleet_owner = s.user(), s.user()
    fleet = s.group(fleet_owner, members=[owner])
    charger = s.charger(owner)
    result = s.run("MoveChargerToGroup", owner, charger_id=charger, group_id=fleet)
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.charger_state(charger).group_id == owner


def test_move_without_manage_on_the_charger_is_forbidden(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.share(owner, guest, [charger], level="charge")
    result = s.run("MoveChargerToGroup", guest, charger_id=charger, group_id=guest)
    assert (result.status, result.reason) == ("rejected", "forbidden")


def test_manager_by_share_may_move_into_a_group_they_administer(s: Scenario) -> None:
    owner, manager = s.user(), s.user()
    charger = s.charger(owner)
    s.share(owner, manager, [charger], level="manage")
    s.ok("MoveChargerToGroup", manager, charger_id=charger, group_id=manager)
    assert s.charger_state(charger).group_id == manager
    assert s.level(owner, charger) == "manage"  # still the charger's owner


def test_move_to_the_group_it_is_in_publishes_nothing(s: Scenario) -> None:
    owner = s.user()
    charger = s.charger(owner)
    assert s.run("MoveChargerToGroup", owner, charger_id=charger,
                 group_id=owner).status == "accepted"
    assert s.events == []


def test_move_unknown_charger_or_group_is_not_found(s: Scenario) -> None:
    owner = s.user()
    charger = s.charger(owner)
    assert s.run("MoveChargerToGroup", owner, charger_id=uuid4(),
                 group_id=owner).reason == "not_found"
    assert s.run("MoveChargerToGroup", owner, charger_id=charger,
                 group_id=uuid4()).reason == "not_found"


# -- TransferChargerOwnership -----------------------------------------------------------


def test_owner_transfers_ownership_to_a_group_admin(s: Scenario) -> None:
    fleet_owner, owner, admin, guest = s.user(), s.user(), s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner, admin])
    charger = s.charger(owner, group=fleet)
    s.share(owner, guest, [charger])
    result = s.run("TransferChargerOwnership", owner, charger_id=charger, new_owner_id=admin)
    assert result.status == "accepted"
    assert s.types() == ["ChargerOwnershipTransferred"]
    data = s.events[0].data
    assert data["charger_id"] == str(charger)
    assert data["from_owner_id"] == str(owner)
    assert data["from_owner"]["user_id"] == str(owner)
    assert data["to_owner"]["user_id"] == str(admin)
    state = s.charger_state(charger)
    assert (state.owner_id, state.group_id) == (admin, fleet)
    assert s.shares(charger) == {str(guest): "charge"}


def test_group_owner_may_transfer_ownership_of_a_groups_charger(s: Scenario) -> None:
    fleet_owner, owner, admin = s.user(), s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner, admin])
    charger = s.charger(owner, group=fleet)
    s.ok("TransferChargerOwnership", fleet_owner, charger_id=charger, new_owner_id=admin)
    assert s.charger_state(charger).owner_id == admin


def test_ownership_to_the_group_owner_is_allowed(s: Scenario) -> None:
    fleet_owner, owner = s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner])
    charger = s.charger(owner, group=fleet)
    s.ok("TransferChargerOwnership", owner, charger_id=charger, new_owner_id=fleet_owner)
    assert s.charger_state(charger).owner_id == fleet_owner


def test_ownership_to_a_group_member_is_not_group_admin(s: Scenario) -> None:
    fleet_owner, owner, member = s.user(), s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner], members=[member])
    charger = s.charger(owner, group=fleet)
    result = s.run("TransferChargerOwnership", owner, charger_id=charger, new_owner_id=member)
    assert (result.status, result.reason) == ("rejected", "not_group_admin")
    assert s.charger_state(charger).owner_id == owner


def test_ownership_to_an_outsider_is_not_group_admin(s: Scenario) -> None:
    owner, outsider = s.user(), s.user()
    charger = s.charger(owner)
    result = s.run("TransferChargerOwnership", owner, charger_id=charger,
                   new_owner_id=outsider)
    assert result.reason == "not_group_admin"


def test_plain_manager_may_not_transfer_ownership(s: Scenario) -> None:
    fleet_owner, owner, admin, manager = s.user(), s.user(), s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner, admin])
    charger = s.charger(owner, group=fleet)
    s.share(owner, manager, [charger], level="manage")
    by_admin = s.run("TransferChargerOwnership", admin, charger_id=charger, new_owner_id=admin)
    by_share = s.run("TransferChargerOwnership", manager, charger_id=charger,
                     new_owner_id=admin)
    assert (by_admin.status, by_admin.reason) == ("rejected", "forbidden")
    assert by_share.reason == "forbidden"
    assert s.charger_state(charger).owner_id == owner


def test_transfer_ownership_of_unknown_charger_or_user_is_not_found(s: Scenario) -> None:
    owner = s.user()
    charger = s.charger(owner)
    assert s.run("TransferChargerOwnership", owner, charger_id=uuid4(),
                 new_owner_id=owner).reason == "not_found"
    assert s.run("TransferChargerOwnership", owner, charger_id=charger,
                 new_owner_id=uuid4()).reason == "not_found"


# -- TransferChargerToUser --------------------------------------------------------------


def test_transfer_to_user_by_phone_without_connection(s: Scenario) -> None:
    owner = s.user()
    recipient = s.user(phone="+4791234567")
    charger = s.charger(owner)
    result = s.run("TransferChargerToUser", owner, charger_id=charger,
                   recipient_phone="+4791234567", keep_connection=False)
    assert result.status == "accepted"
    [data] = s.of_type("ChargerTransferredToUser")
    assert data["from_owner"]["user_id"] == str(owner)
    assert data["to_user"]["user_id"] == str(recipient)
    assert data["from_group_id"] == str(owner)
    assert data["to_group_id"] == str(recipient)
    assert data["connected"] is False
    state = s.charger_state(charger)
    assert (state.owner_id, state.group_id, state.connected) == (recipient, recipient, False)
    assert s.level(recipient, charger) == "manage"
    assert s.level(owner, charger) is None


def test_transfer_to_user_by_email_keeping_the_connection(s: Scenario) -> None:
    owner = s.user()
    recipient = s.user(email="new.owner@example.com")
    charger = s.charger(owner)
    s.ok("TransferChargerToUser", owner, charger_id=charger,
         recipient_email="New.Owner@example.com", keep_connection=True)
    [data] = s.of_type("ChargerTransferredToUser")
    assert data["to_user"]["user_id"] == str(recipient)
    assert data["connected"] is True
    assert s.charger_state(charger).connected is True


def test_a_disconnected_charger_stays_disconnected_even_if_kept(s: Scenario) -> None:
    owner, first, second = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    s.ok("TransferChargerToUser", owner, charger_id=charger,
         recipient_email=s.emails[first], keep_connection=False)
    s.ok("TransferChargerToUser", first, charger_id=charger,
         recipient_email=s.emails[second], keep_connection=True)
    assert s.charger_state(charger).connected is False


def test_transfer_to_user_ends_existing_shares_and_pending_invitations(s: Scenario) -> None:
    owner, guest, recipient = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    s.share(owner, guest, [charger], level="manage")
    invitation_id, token = s.invite(owner, "pending@example.com", [charger])
    s.ok("TransferChargerToUser", owner, charger_id=charger,
         recipient_email=s.emails[recipient], keep_connection=True)
    assert s.of_type("AccessRevoked") == [
        {"charger_id": str(charger), "user_id": str(guest), "reason": "charger_transferred"}]
    assert s.of_type("InvitationRevoked") == [
        {"invitation_id": str(invitation_id), "email": "pending@example.com", "locale": "en",
         "reason": "charger_transferred"}]
    assert s.shares(charger) == {}
    assert s.level(guest, charger) is None
    late = s.user(email="pending@example.com")
    result = s.run("AcceptInvitation", late, invitation_id=invitation_id, token=token)
    assert result.reason == "not_pending"


def test_transfer_to_user_leaves_answered_invitations_alone(s: Scenario) -> None:
    owner, guest, recipient = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    s.share(owner, guest, [charger])
    s.ok("TransferChargerToUser", owner, charger_id=charger,
         recipient_email=s.emails[recipient], keep_connection=True)
    assert s.of_type("InvitationRevoked") == []


def test_group_owner_may_transfer_a_groups_charger_to_a_user(s: Scenario) -> None:
    fleet_owner, owner, recipient = s.user(), s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner])
    charger = s.charger(owner, group=fleet)
    s.ok("TransferChargerToUser", fleet_owner, charger_id=charger,
         recipient_email=s.emails[recipient], keep_connection=True)
    assert s.charger_state(charger).group_id == recipient


def test_transfer_to_an_unregistered_recipient_is_recipient_not_found(s: Scenario) -> None:
    owner = s.user()
    charger = s.charger(owner)
    s.invite(owner, "invited.only@example.com", [charger])  # an address with no user
    for recipient in ({"recipient_email": "nobody@example.com"},
                      {"recipient_email": "invited.only@example.com"},
                      {"recipient_phone": "+4799999999"}):
        result = s.run("TransferChargerToUser", owner, charger_id=charger,
                       keep_connection=True, **recipient)
        assert (result.status, result.reason) == ("rejected", "recipient_not_found")
    assert s.charger_state(charger).owner_id == owner


def test_transfer_to_user_by_a_plain_manager_is_forbidden(s: Scenario) -> None:
    fleet_owner, owner, admin, recipient = s.user(), s.user(), s.user(), s.user()
    fleet = s.group(fleet_owner, admins=[owner, admin])
    charger = s.charger(owner, group=fleet)
    result = s.run("TransferChargerToUser", admin, charger_id=charger,
                   recipient_email=s.emails[recipient], keep_connection=True)
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.events == []


def test_transfer_unknown_charger_to_user_is_not_found(s: Scenario) -> None:
    owner, recipient = s.user(), s.user()
    result = s.run("TransferChargerToUser", owner, charger_id=uuid4(),
                   recipient_email=s.emails[recipient], keep_connection=True)
    assert result.reason == "not_found"
