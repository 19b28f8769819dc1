"""Invitation tokens across a TOKEN_SECRET rotation."""

from __future__ import annotations

from uuid import UUID

from services.access.handlers.context import Rules
from services.common.tokens import invitation_token
from tests.unit.access.handlers.invitations.common import (
    NEW_SECRET,
    owner_with_chargers,
)
from tests.unit.access.scenario import SECRET, Scenario


def _rotated(s: Scenario, previous: tuple[bytes, ...]) -> None:
    """The service restarted with a new TOKEN_SECRET and TOKEN_SECRET_PREVIOUS."""
    s.executor._rules = Rules(NEW_SECRET, previous_token_secrets=previous)


def _salt(s: Scenario, invitation_id: UUID) -> str:
    return str(s.invitation_state(invitation_id).token_salt)


def test_a_token_issued_before_a_secret_rotation_is_accepted_under_the_previous_secret(
    s: Scenario,
) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, old_token = s.invite(owner, s.emails[guest], chargers)
    _rotated(s, previous=(b"older-secret", SECRET))
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=old_token)
    assert result.status == "accepted"


def test_after_a_rotation_tokens_under_the_new_secret_work_and_unknown_secrets_do_not(
    s: Scenario,
) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    first, _ = s.invite(owner, s.emails[guest], chargers)
    second, _ = s.invite(owner, s.emails[guest], chargers)
    _rotated(s, previous=(SECRET,))
    forged = invitation_token(b"a-secret-never-configured", first, _salt(s, first))
    assert s.run("AcceptInvitation", guest, invitation_id=first,
                 token=forged).reason == "invalid_token"
    fresh = invitation_token(NEW_SECRET, second, _salt(s, second))
    assert s.run("DeclineInvitation", guest, invitation_id=second, token=fresh).status == "accepted"


def test_a_token_under_a_secret_no_longer_listed_as_previous_is_invalid(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, old_token = s.invite(owner, s.emails[guest], chargers)
    _rotated(s, previous=())
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=old_token)
    assert (result.status, result.reason) == ("rejected", "invalid_token")
