"""InviteUser, AcceptInvitation, DeclineInvitation, RevokeInvitation, ResendInvitation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from charger_access_client.commands import InviteUser
from services.access.handlers.context import Rules
from services.common.tokens import invitation_token
from tests.unit.access.scenario import SECRET, Scenario

WRONG_TOKEN = "A" * 43
NEW_SECRET = b"the-secret-after-rotation"


def _owner_with_chargers(s: Scenario, n: int = 1) -> tuple[UUID, list[UUID]]:
    owner = s.user()
    return owner, [s.charger(owner) for _ in range(n)]


# -- InviteUser -------------------------------------------------------------------------


def test_owner_invites_an_email_to_chargers(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s, 2)
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
    owner, chargers = _owner_with_chargers(s)
    _, token = s.invite(owner, "guest@example.com", chargers)
    published = json.dumps([e.model_dump(mode="json") for e in s.published_since(0)])
    assert token not in published
    stored = b"".join(n.state for n in s.store.recorder.select_notifications(1, 10_000))
    assert token.encode() not in stored


def test_invite_with_manage_level(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    s.invite(owner, "guest@example.com", chargers, level="manage")
    assert s.of_type("UserInvited")[0]["level"] == "manage"


def test_invite_is_forbidden_without_manage_on_every_charger(s: Scenario) -> None:
    owner, [mine] = _owner_with_chargers(s)
    _, [theirs] = _owner_with_chargers(s)
    result = s.run("InviteUser", owner, invitation_id=uuid4(), email="guest@example.com",
                   charger_ids=[mine, theirs])
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.events == []


def test_invite_is_forbidden_with_only_a_charge_share(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
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
    owner, chargers = _owner_with_chargers(s)
    result = s.run("InviteUser", owner, invitation_id=uuid4(), email="guest@example.com",
                   charger_ids=[*chargers, uuid4()])
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_invite_with_an_existing_invitation_id_is_already_exists(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    invitation_id, _ = s.invite(owner, "guest@example.com", chargers)
    result = s.run("InviteUser", owner, invitation_id=invitation_id, email="b@example.com",
                   charger_ids=chargers)
    assert result.reason == "already_exists"


def test_invitation_locale_is_the_registered_invitees_own(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    s.user(locale="fr", email="Francoise@example.fr")
    s.invite(owner, "francoise@EXAMPLE.fr", chargers, locale="nb")
    assert s.of_type("UserInvited")[0]["locale"] == "fr"


def test_invitation_locale_is_the_commands_for_an_unregistered_invitee(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    s.invite(owner, "ola@example.no", chargers, locale="nb")
    assert s.of_type("UserInvited")[0]["locale"] == "nb"


def test_invitation_locale_defaults_to_english(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    s.invite(owner, "someone@example.com", chargers)
    assert s.of_type("UserInvited")[0]["locale"] == "en"


@pytest.mark.parametrize("count", [0, 101])
def test_invite_takes_one_to_a_hundred_chargers(count: int) -> None:
    with pytest.raises(ValidationError):
        InviteUser(invitation_id=uuid4(), email="a@example.com",
                   charger_ids=[uuid4() for _ in range(count)])
    InviteUser(invitation_id=uuid4(), email="a@example.com",
               charger_ids=[uuid4() for _ in range(100)])


# -- AcceptInvitation -------------------------------------------------------------------


def test_accept_grants_shares_sourced_from_the_invitation(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s, 2)
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
    owner, chargers = _owner_with_chargers(s)
    guest = s.user(email="guest@example.com")
    invitation_id, token = s.invite(owner, "Guest@Example.COM", chargers)
    assert s.run("AcceptInvitation", guest, invitation_id=invitation_id,
                 token=token).status == "accepted"


def test_invitee_who_registers_after_the_invitation_accepts_it(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    invitation_id, token = s.invite(owner, "later@example.com", chargers)
    guest = s.user(email="later@example.com")
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert s.level(guest, chargers[0]) == "charge"


def test_accept_keeps_a_higher_existing_share(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    s.share(owner, guest, chargers, level="manage")
    invitation_id, token = s.invite(owner, s.emails[guest], chargers, level="charge")
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert s.of_type("AccessGranted") == []
    assert s.shares(chargers[0])[str(guest)] == "manage"


def test_accept_by_another_user_is_email_mismatch(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest, intruder = s.user(), s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    result = s.run("AcceptInvitation", intruder, invitation_id=invitation_id, token=token)
    assert (result.status, result.reason) == ("rejected", "email_mismatch")
    assert s.events == []
    assert s.shares(chargers[0]) == {}


@pytest.mark.parametrize("first", ["AcceptInvitation", "DeclineInvitation"])
def test_accept_after_an_answer_is_not_pending(s: Scenario, first: str) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok(first, guest, invitation_id=invitation_id, token=token)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert (result.status, result.reason) == ("rejected", "not_pending")
    assert s.events == []


def test_accept_after_revoke_is_not_pending(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok("RevokeInvitation", owner, invitation_id=invitation_id)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "not_pending"
    assert s.shares(chargers[0]) == {}


def test_accept_seven_days_after_sending_is_expired(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(days=7)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert (result.status, result.reason) == ("rejected", "expired")
    assert s.events == []


def test_accept_just_before_seven_days_is_in_time(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(days=6, hours=23, minutes=59)
    assert s.run("AcceptInvitation", guest, invitation_id=invitation_id,
                 token=token).status == "accepted"


def test_invitation_ttl_is_configurable() -> None:
    s = Scenario(invitation_ttl=timedelta(hours=1))
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(hours=1)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "expired"


def test_accept_with_a_wrong_token_is_invalid_token(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, _ = s.invite(owner, s.emails[guest], chargers)
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=WRONG_TOKEN)
    assert (result.status, result.reason) == ("rejected", "invalid_token")
    assert s.invitation_state(invitation_id).status == "pending"


def test_token_of_another_invitation_is_invalid_token(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
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
    owner, chargers = _owner_with_chargers(s)
    invitation_id, token = s.invite(owner, "nobody@example.com", chargers)
    result = s.run("AcceptInvitation", uuid4(), invitation_id=invitation_id, token=token)
    assert result.reason == "not_found"


# -- DeclineInvitation ------------------------------------------------------------------


def test_decline_grants_nothing(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    result = s.run("DeclineInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.status == "accepted"
    assert s.types() == ["InvitationDeclined"]
    assert s.events[0].data == {"invitation_id": str(invitation_id), "user_id": str(guest)}
    assert s.shares(chargers[0]) == {}
    assert s.invitation_state(invitation_id).status == "declined"


def test_decline_by_another_user_is_email_mismatch(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest, intruder = s.user(), s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    result = s.run("DeclineInvitation", intruder, invitation_id=invitation_id, token=token)
    assert result.reason == "email_mismatch"


def test_decline_after_accept_is_not_pending(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    result = s.run("DeclineInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "not_pending"
    assert s.level(guest, chargers[0]) == "charge"


def test_decline_when_expired_is_expired(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.advance(days=8)
    result = s.run("DeclineInvitation", guest, invitation_id=invitation_id, token=token)
    assert result.reason == "expired"


def test_decline_with_a_wrong_token_is_invalid_token(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, _ = s.invite(owner, s.emails[guest], chargers)
    result = s.run("DeclineInvitation", guest, invitation_id=invitation_id, token=WRONG_TOKEN)
    assert result.reason == "invalid_token"


def test_decline_unknown_invitation_is_not_found(s: Scenario) -> None:
    guest = s.user()
    result = s.run("DeclineInvitation", guest, invitation_id=uuid4(), token=WRONG_TOKEN)
    assert result.reason == "not_found"


# -- RevokeInvitation -------------------------------------------------------------------


def test_inviter_revokes_a_pending_invitation(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
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
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, _ = s.invite(owner, s.emails[guest], chargers)
    assert s.run("RevokeInvitation", guest, invitation_id=invitation_id).reason == "forbidden"


def test_revoke_after_accept_is_not_pending(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    result = s.run("RevokeInvitation", owner, invitation_id=invitation_id)
    assert result.reason == "not_pending"
    assert s.level(guest, chargers[0]) == "charge"


def test_revoke_unknown_invitation_is_not_found(s: Scenario) -> None:
    owner = s.user()
    assert s.run("RevokeInvitation", owner, invitation_id=uuid4()).reason == "not_found"


# -- ResendInvitation -------------------------------------------------------------------


def test_resend_publishes_a_new_salt_and_expiry(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
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
    owner, chargers = _owner_with_chargers(s)
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
    owner, chargers = _owner_with_chargers(s)
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
    owner, chargers = _owner_with_chargers(s)
    stranger = s.user()
    invitation_id, token = s.invite(owner, "guest@example.com", chargers)
    result = s.run("ResendInvitation", stranger, invitation_id=invitation_id)
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.token(invitation_id) == token


def test_resend_after_accept_is_not_pending(s: Scenario) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, token = s.invite(owner, s.emails[guest], chargers)
    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=token)
    assert s.run("ResendInvitation", owner, invitation_id=invitation_id).reason == "not_pending"


def test_resend_unknown_invitation_is_not_found(s: Scenario) -> None:
    owner = s.user()
    assert s.run("ResendInvitation", owner, invitation_id=uuid4()).reason == "not_found"


# -- TOKEN_SECRET rotation --------------------------------------------------------------


def _rotated(s: Scenario, previous: tuple[bytes, ...]) -> None:
    """The service restarted with a new TOKEN_SECRET and TOKEN_SECRET_PREVIOUS."""
    s.executor._rules = Rules(NEW_SECRET, previous_token_secrets=previous)


def _salt(s: Scenario, invitation_id: UUID) -> str:
    return str(s.invitation_state(invitation_id).token_salt)


def test_a_token_issued_before_a_secret_rotation_is_accepted_under_the_previous_secret(
    s: Scenario,
) -> None:
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, old_token = s.invite(owner, s.emails[guest], chargers)
    _rotated(s, previous=(b"older-secret", SECRET))
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=old_token)
    assert result.status == "accepted"


def test_after_a_rotation_tokens_under_the_new_secret_work_and_unknown_secrets_do_not(
    s: Scenario,
) -> None:
    owner, chargers = _owner_with_chargers(s)
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
    owner, chargers = _owner_with_chargers(s)
    guest = s.user()
    invitation_id, old_token = s.invite(owner, s.emails[guest], chargers)
    _rotated(s, previous=())
    result = s.run("AcceptInvitation", guest, invitation_id=invitation_id, token=old_token)
    assert (result.status, result.reason) == ("rejected", "invalid_token")
