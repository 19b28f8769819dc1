"""AcceptInvitation: the shares it grants, and every reason it is refused."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from tests.unit.access.handlers.invitations.common import (
    WRONG_TOKEN,
    owner_with_chargers,
)
from tests.unit.access.scenario import Scenario


def test_accept_grants_shares_sourced_from_the_invitation(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s, 2)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers, level="manage")
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.status == "accepted"
    assert sorted(s.types()) == ["AccessGranted", "AccessGranted", "InvitationAccepted"]
    accepted = s.of_type("InvitationAccepted")[0]
    assert accepted["user_id"] == str(guest)
    assert accepted["charger_ids"] == [str(c) for c in chargers]
    grants = s.of_type("AccessGranted")
    assert {g["charger_id"] for g in grants} == {str(c) for c in chargers}
    for grant in grants:
        assert grant["user_id"] == str(guest)
        assert grant["level"] == "manage"
        assert grant["source"] == {"kind": "invitation", "invitation_id": str(invitation_id)}
    assert all(s.level(guest, c) == "manage" for c in chargers)
    assert s.invitation_state(invitation_id).status == "accepted"
    assert result.position == s.events[-1].sequence


def test_accept_matches_the_email_case_insensitively(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user(email="guest@example.com")
    invitation_id, token = s.invite(owner, "Guest@Example.COM", chargers)
    assert s.run("AcceptInvitation", guest, invitation_id=invitation_id,
                 token=token).status == "accepted"


def test_invitee_who_registers_after_the_invitation_accepts_it(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    invitation_id, token = s.invite(owner, "later@example.com", chargers)
    guest = s.user(email="later@example.com")
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert s.level(guest, chargers[0]) == "charge"


def test_accept_keeps_a_higher_existing_share(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    s.share(owner, guest, chargers, level="manage")
    invitation_id, token = s.invite(owner, s.emails[guest], chargers, level="charge")
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert s.of_type("AccessGranted") == []
    assert s.shares(chargers[0])[str(guest)] == "manage"


def test_accept_by_another_user_is_email_mismatch(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest, intruder = s.user(), s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    result = s.run("AcceptInvitation", intruder, invitation_id=invitation_id, token=token)
    assert (result.status, result.reason) == ("rejected", "email_mismatch")
    assert s.events == []
    assert s.shares(chargers[0]) == {}


@pytest.mark.parametrize("first", ["AcceptInvitation", "DeclineInvitation"])
def test_accept_after_an_answer_is_not_pending(s: Scenario, first: str) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok(first, guest, invitation_id=invitation_id, token=token)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert (result.status, result.reason) == ("rejected", "not_pending")
    assert s.events == []


def test_accept_after_revoke_is_not_pending(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok("RevokeInvitation", owner, invitation_id=invitation_id)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "not_pending"
    assert s.shares(chargers[0]) == {}


def test_accept_seven_days_after_sending_is_expired(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(days=7)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert (result.status, result.reason) == ("rejected", "expired")
    assert s.events == []


def test_accept_just_before_seven_days_is_in_time(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(days=6, hours=23, minutes=59)
    assert s.run("AcceptInvitation", guest, invitation_id=invitation_id,
                 token=token).status == "accepted"


def test_invitation_ttl_is_configurable() -> None:
    s = Scenario(invitation_ttl=timedelta(hours=1))
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(hours=1)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "expired"


def test_accept_with_a_wrong_token_is_invalid_token(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    invitation_id, _ = s.invite(owner, s.emails[guest], chargers)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=WRONG_TOKEN)
    assert (result.status, result.reason) == ("rejected", "invalid_token")
    assert s.invitation_state(invitation_id).status == "pending"


def test_token_of_another_invitation_is_invalid_token(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    first, _ = s.invite(owner, s.emails[guest], chargers)
    _, other_token = s.invite(owner, s.emails[guest], chargers)
    result = s.run("AcceptInvitation", guest, invitation_id=first, token=other_token)
    assert result.reason == "invalid_token"


def test_accept_unknown_invitation_is_not_found(s: Scenario) -> None:
    guest = s.user()
    result = s.run("AcceptInvitation", guest, invitation_id=uuid4(), token=WRONG_TOKEN)
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_accept_by_an_unregistered_actor_is_not_found(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    invitation_id, token = s.invite(owner, "nobody@example.com", chargers)
    result = s.run("AcceptInvitation", uuid4(), invitation_id=invitation_id, token=token)
    assert result.reason == "not_found"
