"""ResendInvitation: a new salt and expiry, the old token void."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from tests.unit.access.handlers.invitations.common import (
    owner_with_chargers,
)
from tests.unit.access.scenario import Scenario


def test_resend_publishes_a_new_salt_and_expiry(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    invitation_id, _ = s.invite(owner, "guest@example.com", chargers)
    first_salt = s.of_type("UserInvited")[0]["token_salt"]
    s.advance(days=3)
    result = s.run("ResendInvitation", owner, invitation_id=invitation_id)
    assert result.status == "accepted"
    assert s.types() == ["InvitationResent"]
    resent = s.events[0].data
    assert resent["token_salt"] != first_salt
    assert datetime.fromisoformat(resent["expires_at"]) == s.now + timedelta(days=7)
    assert resent["email"] == "guest@example.com"


def test_after_resend_the_old_token_is_invalid_and_the_new_one_works(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, old_token = s.invite(owner, s.emails[guest], chargers)
    s.ok("ResendInvitation", owner, invitation_id=invitation_id)
    new_token = s.token(invitation_id)
    assert new_token != old_token
    old = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=old_token)
    assert (old.status, old.reason) == ("rejected", "invalid_token")
    new = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=new_token)
    assert new.status == "accepted"


def test_resend_renews_the_expiry_of_an_expired_invitation(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(days=10)
    assert s.run("AcceptInvitation", guest, invitation_id=invitation_id,
                 token=token).reason == "expired"
    s.ok("ResendInvitation", owner, invitation_id=invitation_id)
    s.advance(days=6)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id,
                   token=s.token(invitation_id))
    assert result.status == "accepted"


def test_resend_by_a_stranger_is_forbidden(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    stranger = s.user()
    invitation_id, token = s.invite(owner, "guest@example.com", chargers)
    result = s.run("ResendInvitation", stranger, invitation_id=invitation_id)
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.token(invitation_id) == token


def test_resend_after_accept_is_not_pending(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert s.run("ResendInvitation", owner, invitation_id=invitation_id).reason == "not_pending"


def test_resend_unknown_invitation_is_not_found(s: Scenario) -> None:
    owner = s.user()
    assert s.run("ResendInvitation", owner, invitation_id=uuid4()).reason == "not_found"


def test_resend_after_the_invitations_window_ended_is_invalid(s: Scenario) -> None:
    """Sent again, the link would grant a share that can never be in effect: refused as
    an InviteUser with that window would be, and the pending invitation left as it was."""
    owner, chargers = owner_with_chargers(s)
    invitation_id = uuid4()
    ends = s.now + timedelta(days=2)
    s.ok("InviteUser", owner, invitation_id=invitation_id, email="guest@example.com",
         charger_ids=chargers, level="charge", valid_until=ends.isoformat())
    s.advance(days=1)
    s.ok("ResendInvitation", owner, invitation_id=invitation_id)  # the window still open
    token = s.token(invitation_id)
    s.advance(days=2)
    result = s.run("ResendInvitation", owner, invitation_id=invitation_id)
    assert (result.status, result.reason) == ("rejected", "invalid")
    assert s.token(invitation_id) == token
