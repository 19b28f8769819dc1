"""RegisterUser: new id, unique e-mail (case-insensitive) and phone; a personal group."""

from __future__ import annotations

from uuid import uuid4

from tests.unit.access.scenario import Scenario


def test_register_user_publishes_the_user_and_their_personal_group(s: Scenario) -> None:
    user_id = uuid4()
    result = s.run("RegisterUser", user_id, user_id=user_id, email="Kari@Example.no",
                   phone="+4790000001", name="Kari", locale="nb")
    assert result.status == "accepted"
    assert result.reason is None
    assert s.types() == ["UserRegistered", "GroupCreated"]
    registered, group = s.events[0].data, s.events[1].data
    assert registered == {"user_id": str(user_id), "email": "Kari@Example.no",
                          "phone": "+4790000001", "name": "Kari", "locale": "nb"}
    assert group["group_id"] == str(user_id)
    assert group["owner_id"] == str(user_id)
    assert group["personal"] is True
    assert s.group_state(user_id).role_of(user_id) == "owner"
    assert result.position == s.events[-1].sequence


def test_register_user_defaults_locale_to_english(s: Scenario) -> None:
    user_id = uuid4()
    s.ok("RegisterUser", user_id, user_id=user_id, email="a@example.com")
    assert s.of_type("UserRegistered")[0]["locale"] == "en"


def test_register_user_with_an_existing_id_is_already_exists(s: Scenario) -> None:
    user_id = s.user()
    result = s.run("RegisterUser", user_id, user_id=user_id, email="other@example.com")
    assert (result.status, result.reason) == ("rejected", "already_exists")
    assert s.events == []


def test_register_user_with_the_id_of_an_existing_group_is_already_exists(s: Scenario) -> None:
    owner = s.user()
    group_id = s.group(owner)
    result = s.run("RegisterUser", group_id, user_id=group_id, email="new@example.com")
    assert (result.status, result.reason) == ("rejected", "already_exists")


def test_register_user_email_taken_is_case_insensitive(s: Scenario) -> None:
    s.user(email="kari@example.no")
    other = uuid4()
    result = s.run("RegisterUser", other, user_id=other, email="KARI@Example.NO")
    assert (result.status, result.reason) == ("rejected", "email_taken")
    assert s.events == []


def test_register_user_phone_taken(s: Scenario) -> None:
    s.user(phone="+4790000002")
    other = uuid4()
    result = s.run("RegisterUser", other, user_id=other, email="b@example.com",
                   phone="+4790000002")
    assert (result.status, result.reason) == ("rejected", "phone_taken")
    assert s.events == []


def test_rejected_registration_claims_neither_email_nor_phone(s: Scenario) -> None:
    s.user(phone="+4790000003")
    loser = uuid4()
    rejected = s.run("RegisterUser", loser, user_id=loser, email="free@example.com",
                     phone="+4790000003")
    assert rejected.reason == "phone_taken"
    winner = uuid4()
    accepted = s.run("RegisterUser", winner, user_id=winner, email="free@example.com")
    assert accepted.status == "accepted"


def test_register_user_may_take_an_email_that_only_has_pending_invitations(s: Scenario) -> None:
    owner = s.user()
    charger = s.charger(owner)
    s.invite(owner, "newcomer@example.com", [charger])
    user_id = uuid4()
    result = s.run("RegisterUser", user_id, user_id=user_id, email="Newcomer@example.com")
    assert result.status == "accepted"
    again = uuid4()
    taken = s.run("RegisterUser", again, user_id=again, email="newcomer@example.com")
    assert taken.reason == "email_taken"
