"""DeclineInvitation: it grants nothing, and is refused as accepting is."""

from __future__ import annotations

from uuid import uuid4

from tests.unit.access.handlers.invitations.common import (
    WRONG_TOKEN,
    owner_with_chargers,
)
from tests.unit.access.scenario import Scenario


def test_decline_grants_nothing(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    result = s.run("DeclineInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.status == "accepted"
    assert s.types() == ["InvitationDeclined"]
    assert s.events[0].data == {"invitation_id": str(invitation_id), "user_id": str(guest)}
    assert s.shares(chargers[0]) == {}
    assert s.invitation_state(invitation_id).status == "declined"


def test_decline_by_another_user_is_email_mismatch(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest, intruder = s.user(), s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    result = s.run("DeclineInvitation", intruder, invitation_id=invitation_id, token=token)
    assert result.reason == "email_mismatch"


def test_decline_after_accept_is_not_pending(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    result = s.run("DeclineInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "not_pending"
    assert s.level(guest, chargers[0]) == "charge"


def test_decline_when_expired_is_expired(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(days=8)
    result = s.run("DeclineInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "expired"


def test_decline_with_a_wrong_token_is_invalid_token(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, _ = s.invite(owner, s.emails[guest], chargers)
    result = s.run("DeclineInvitation", guest, invitation_id=invitation_id, token=WRONG_TOKEN)
    assert result.reason == "invalid_token"


def test_decline_unknown_invitation_is_not_found(s: Scenario) -> None:
    guest = s.user()
    result = s.run("DeclineInvitation", guest, invitation_id=uuid4(), token=WRONG_TOKEN)
    assert result.reason == "not_found"
