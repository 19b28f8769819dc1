"""RevokeInvitation: who may revoke, and when it is too late."""

from __future__ import annotations

from uuid import uuid4

from tests.unit.access.handlers.invitations.common import (
    owner_with_chargers,
)
from tests.unit.access.scenario import Scenario


def test_inviter_revokes_a_pending_invitation(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    invitation_id, _ = s.invite(owner, "guest@example.com", chargers, locale="fr")
    result = s.run("RevokeInvitation", owner, invitation_id=invitation_id)
    assert result.status == "accepted"
    assert s.types() == ["InvitationRevoked"]
    assert s.events[0].data == {"invitation_id": str(invitation_id),
                                "email": "guest@example.com", "locale": "fr",
                                "reason": "revoked"}


def test_inviter_who_no_longer_manages_the_charger_may_still_revoke(s: Scenario) -> None:
    owner, admin = s.user(), s.user()
    group_id = s.group(owner, admins=[admin])
    charger = s.charger(owner, group=group_id)
    invitation_id, _ = s.invite(admin, "guest@example.com", [charger])
    s.ok("RemoveGroupMember", owner, group_id=group_id, user_id=admin)
    assert s.run("RevokeInvitation", admin, invitation_id=invitation_id).status == "accepted"


def test_another_manager_of_all_its_chargers_may_revoke(s: Scenario) -> None:
    owner, admin = s.user(), s.user()
    group_id = s.group(owner, admins=[admin])
    chargers = [s.charger(owner, group=group_id), s.charger(owner, group=group_id)]
    invitation_id, _ = s.invite(owner, "guest@example.com", chargers)
    result = s.run("RevokeInvitation", admin, invitation_id=invitation_id)
    assert result.status == "accepted"
    assert s.invitation_state(invitation_id).status == "revoked"


def test_revoke_by_a_manager_of_only_some_of_its_chargers_is_forbidden(s: Scenario) -> None:
    owner, helper = s.user(), s.user()
    chargers = [s.charger(owner), s.charger(owner)]
    s.share(owner, helper, chargers[:1], level="manage")
    invitation_id, _ = s.invite(owner, "guest@example.com", chargers)
    result = s.run("RevokeInvitation", helper, invitation_id=invitation_id)
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.invitation_state(invitation_id).status == "pending"


def test_revoke_by_the_invitee_is_forbidden(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, _ = s.invite(owner, s.emails[guest], chargers)
    assert s.run("RevokeInvitation", guest, invitation_id=invitation_id).reason == "forbidden"


def test_revoke_after_accept_is_not_pending(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    result = s.run("RevokeInvitation", owner, invitation_id=invitation_id)
    assert result.reason == "not_pending"
    assert s.level(guest, chargers[0]) == "charge"


def test_revoke_unknown_invitation_is_not_found(s: Scenario) -> None:
    owner = s.user()
    assert s.run("RevokeInvitation", owner, invitation_id=uuid4()).reason == "not_found"
