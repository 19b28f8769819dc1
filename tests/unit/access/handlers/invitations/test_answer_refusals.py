"""Every reason an answer to an invitation is refused, the same for accepting and for
declining it: refused, nothing appended, nothing granted, the invitation still as it was."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from tests.unit.access.handlers.invitations.common import WRONG_TOKEN, owner_with_chargers
from tests.unit.access.scenario import Scenario

ANSWERS = ["AcceptInvitation", "DeclineInvitation"]


@pytest.fixture(params=ANSWERS)
def answer(request: pytest.FixtureRequest) -> str:
    command: str = request.param
    return command


def invited(s: Scenario) -> tuple[UUID, list[UUID], UUID, UUID, str]:
    """(owner, chargers, guest, invitation id, token): one pending invitation."""
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    return owner, chargers, guest, invitation_id, token


def refused(s: Scenario, answer: str, actor: UUID, reason: str, **fields: object) -> None:
    result = s.run(answer, actor, **fields)
    assert (result.status, result.reason) == ("rejected", reason)
    assert s.events == []  # nothing appended by the refused command


def test_by_another_user_is_email_mismatch(s: Scenario, answer: str) -> None:
    _owner, chargers, _guest, invitation_id, token = invited(s)
    refused(s, answer, s.user(), "email_mismatch", invitation_id=invitation_id,
            token=token)
    assert s.shares(chargers[0]) == {}
    assert s.invitation_state(invitation_id).status == "pending"


@pytest.mark.parametrize("first", ANSWERS)
def test_after_an_answer_is_not_pending(s: Scenario, answer: str, first: str) -> None:
    _owner, chargers, guest, invitation_id, token = invited(s)
    s.ok(first, guest, invitation_id=invitation_id, token=token)
    shares = s.shares(chargers[0])
    refused(s, answer, guest, "not_pending", invitation_id=invitation_id,
            token=token)
    assert s.shares(chargers[0]) == shares  # what the first answer granted, if anything


def test_after_revoke_is_not_pending(s: Scenario, answer: str) -> None:
    owner, chargers, guest, invitation_id, token = invited(s)
    s.ok("RevokeInvitation", owner, invitation_id=invitation_id)
    refused(s, answer, guest, "not_pending", invitation_id=invitation_id,
            token=token)
    assert s.shares(chargers[0]) == {}


def test_seven_days_after_sending_is_expired(s: Scenario, answer: str) -> None:
    _owner, _chargers, guest, invitation_id, token = invited(s)
    s.advance(days=7)
    refused(s, answer, guest, "expired", invitation_id=invitation_id, token=token)


def test_just_before_seven_days_is_in_time(s: Scenario, answer: str) -> None:
    _owner, _chargers, guest, invitation_id, token = invited(s)
    s.advance(days=6, hours=23, minutes=59)
    assert s.run(answer, guest, invitation_id=invitation_id, token=token).status == "accepted"


def test_the_invitation_ttl_is_configurable(answer: str) -> None:
    s = Scenario(invitation_ttl=timedelta(hours=1))
    _owner, _chargers, guest, invitation_id, token = invited(s)
    s.advance(hours=1)
    refused(s, answer, guest, "expired", invitation_id=invitation_id, token=token)


def test_a_wrong_token_is_invalid_token(s: Scenario, answer: str) -> None:
    _owner, _chargers, guest, invitation_id, _token = invited(s)
    refused(s, answer, guest, "invalid_token", invitation_id=invitation_id,
            token=WRONG_TOKEN)
    assert s.invitation_state(invitation_id).status == "pending"


def test_the_token_of_another_invitation_is_invalid_token(s: Scenario, answer: str) -> None:
    owner, chargers, guest, first, _token = invited(s)
    _, other_token = s.invite(owner, s.emails[guest], chargers)
    refused(s, answer, guest, "invalid_token", invitation_id=first,
            token=other_token)


def test_an_unknown_invitation_is_not_found(s: Scenario, answer: str) -> None:
    _owner, _chargers, guest, _invitation_id, _token = invited(s)
    refused(s, answer, guest, "not_found", invitation_id=uuid4(), token=WRONG_TOKEN)


def test_an_unregistered_actor_is_not_found(s: Scenario, answer: str) -> None:
    owner, chargers = owner_with_chargers(s)
    invitation_id, token = s.invite(owner, "nobody@example.com", chargers)
    refused(s, answer, uuid4(), "not_found", invitation_id=invitation_id,
            token=token)
