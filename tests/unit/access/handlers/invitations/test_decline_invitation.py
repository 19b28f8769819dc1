"""DeclineInvitation: it grants nothing (it is refused as accepting is:
`test_answer_refusals.py`)."""

from __future__ import annotations

from tests.unit.access.handlers.invitations.common import (
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
