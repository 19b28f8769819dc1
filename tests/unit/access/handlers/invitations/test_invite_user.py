"""InviteUser: who may invite, to what, in which language."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from charger_access_client.commands import InviteUser
from tests.unit.access.handlers.invitations.common import (
    owner_with_chargers,
)
from tests.unit.access.scenario import Scenario


def test_owner_invites_an_email_to_chargers(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s, 2)
    invitation_id = uuid4()
    result = s.run("InviteUser", owner, invitation_id=invitation_id,
                   email="guest@example.com", charger_ids=chargers)
    assert result.status == "accepted"
    assert s.types() == ["UserInvited"]
    invited = s.events[0]
    assert invited.subject == str(invitation_id)
    assert invited.data["email"] == "guest@example.com"
    assert [c["charger_id"] for c in invited.data["chargers"]] == [str(c) for c in chargers]
    assert invited.data["level"] == "charge"
    assert invited.data["inviter"]["user_id"] == str(owner)
    assert datetime.fromisoformat(invited.data["expires_at"]) == s.now + timedelta(days=7)
    assert result.position == invited.sequence


def test_invitation_token_is_neither_stored_nor_published(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    _, token = s.invite(owner, "guest@example.com", chargers)
    published = json.dumps([e.model_dump(mode="json") for e in s.published_since(0)])
    assert token not in published
    stored = b"".join(n.state for n in s.store.recorder.select_notifications(1, 10_000))
    assert token.encode() not in stored


def test_invite_with_manage_level(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    s.invite(owner, "guest@example.com", chargers, level="manage")
    assert s.of_type("UserInvited")[0]["level"] == "manage"


def test_invite_is_forbidden_without_manage_on_every_charger(s: Scenario) -> None:
    owner, [mine] = owner_with_chargers(s)
    _, [theirs] = owner_with_chargers(s)
    result = s.run("InviteUser", owner, invitation_id=uuid4(), email="guest@example.com",
                   charger_ids=[mine, theirs])
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.events == []


def test_invite_is_forbidden_with_only_a_charge_share(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    guest = s.user()
    s.share(owner, guest, chargers, level="charge")
    result = s.run("InviteUser", guest, invitation_id=uuid4(), email="x@example.com",
                   charger_ids=chargers)
    assert result.reason == "forbidden"


def test_invite_is_forbidden_for_a_group_member(s: Scenario) -> None:
    owner, member = s.user(), s.user()
    group_id = s.group(owner, members=[member])
    charger = s.charger(owner, group=group_id)
    result = s.run("InviteUser", member, invitation_id=uuid4(), email="x@example.com",
                   charger_ids=[charger])
    assert result.reason == "forbidden"


def test_group_admin_and_manage_share_may_invite(s: Scenario) -> None:
    owner, admin, manager = s.user(), s.user(), s.user()
    group_id = s.group(owner, admins=[admin])
    charger = s.charger(owner, group=group_id)
    s.share(owner, manager, [charger], level="manage")
    s.invite(admin, "a@example.com", [charger])
    s.invite(manager, "b@example.com", [charger])


def test_invite_to_an_unknown_charger_is_not_found(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    result = s.run("InviteUser", owner, invitation_id=uuid4(), email="guest@example.com",
                   charger_ids=[*chargers, uuid4()])
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_invite_with_an_existing_invitation_id_is_already_exists(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    invitation_id, _ = s.invite(owner, "guest@example.com", chargers)
    result = s.run("InviteUser", owner, invitation_id=invitation_id, email="b@example.com",
                   charger_ids=chargers)
    assert result.reason == "already_exists"


def test_invitation_locale_is_the_registered_invitees_own(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    s.user(locale="fr", email="Francoise@example.fr")
    s.invite(owner, "francoise@EXAMPLE.fr", chargers, locale="nb")
    assert s.of_type("UserInvited")[0]["locale"] == "fr"


def test_invitation_locale_is_the_commands_for_an_unregistered_invitee(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    s.invite(owner, "ola@example.no", chargers, locale="nb")
    assert s.of_type("UserInvited")[0]["locale"] == "nb"


def test_invitation_locale_defaults_to_english(s: Scenario) -> None:
    owner, chargers = owner_with_chargers(s)
    s.invite(owner, "someone@example.com", chargers)
    assert s.of_type("UserInvited")[0]["locale"] == "en"


@pytest.mark.parametrize("count", [0, 101])
def test_invite_takes_one_to_a_hundred_chargers(count: int) -> None:
    with pytest.raises(ValidationError):
        InviteUser(invitation_id=uuid4(), email="a@example.com",
                   charger_ids=[uuid4() for _ in range(count)])
    InviteUser(invitation_id=uuid4(), email="a@example.com",
               charger_ids=[uuid4() for _ in range(100)])
