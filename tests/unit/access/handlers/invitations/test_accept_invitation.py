"""AcceptInvitation: the shares it grants (the reasons it is refused, shared with
DeclineInvitation, are in `test_answer_refusals.py`)."""

from __future__ import annotations

from tests.unit.access.handlers.invitations.common import (
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
