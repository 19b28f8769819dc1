"""ForgetUser: personal data is sealed per person in the log and shredded by deleting the
key; history stays, the person becomes a pseudonym."""

from __future__ import annotations

from uuid import uuid4

from services.access.handlers.context import Rules
from services.access.store.personal.sealing import Ciphers
from tests.unit.access.scenario import SECRET, Scenario


def stored_bytes(s: Scenario) -> bytes:
    return b"".join(n.state for n in s.store.recorder.select_notifications(1, 100000))


def test_personal_data_is_never_stored_in_plaintext() -> None:
    s = Scenario()
    user = s.user(phone="+4791234567", email="kari.nordmann@example.no", name="Kari Nordmann")
    owner = s.user()
    s.invite(owner, "invitee.without.account@example.no", [s.charger(owner)])
    raw = stored_bytes(s)
    for plaintext in (b"kari.nordmann@example.no", b"+4791234567", b"Kari Nordmann",
                      b"invitee.without.account@example.no"):
        assert plaintext not in raw
    assert s.user_state(user).email == "kari.nordmann@example.no"
    [registered] = [e for e in s.published_since(0) if e.type == "UserRegistered" and e.subject == str(user)]
    assert registered.data["name"] == "Kari Nordmann"


def test_forgetting_turns_the_person_into_a_pseudonym_everywhere_in_history() -> None:
    s = Scenario()
    kari = s.user(email="kari@example.no", name="Kari", phone="+4791234567")
    owner = s.user()
    charger = s.charger(owner)
    s.share(owner, kari, [charger])
    result = s.run("ForgetUser", kari, user_id=str(kari))
    assert result.status == "accepted"
    assert s.types() == ["UserForgotten"]
    history = s.published_since(0)
    text = "".join(e.model_dump_json() for e in history)
    assert "kari@example.no" not in text
    assert "Kari" not in text
    assert "+4791234567" not in text
    [registered] = [e for e in history if e.type == "UserRegistered" and e.subject == str(kari)]
    assert registered.data["email"] == f"forgotten-{kari.hex[:12]}@forgotten.invalid"
    assert registered.data["phone"] is None
    # Their access history is still there, pseudonymous.
    assert any(e.type == "AccessGranted" and e.data["user_id"] == str(kari) for e in history)
    assert s.user_state(kari).email.startswith("forgotten-")


def test_a_forgotten_users_email_and_phone_can_be_registered_again() -> None:
    s = Scenario()
    kari = s.user(email="kari@example.no", phone="+4791234567")
    s.ok("ForgetUser", kari, user_id=str(kari))
    again = uuid4()
    result = s.run("RegisterUser", again, user_id=str(again), email="kari@example.no", phone="+4791234567")
    assert result.status == "accepted"
    assert s.user_state(again).email == "kari@example.no"


def test_only_the_user_or_an_operator_may_forget() -> None:
    s = Scenario()
    kari, other, operator = s.user(), s.user(), s.user()
    assert s.run("ForgetUser", other, user_id=str(kari)).reason == "forbidden"
    s.executor._rules = Rules(SECRET, operators=frozenset({str(operator)}))
    assert s.run("ForgetUser", operator, user_id=str(kari)).status == "accepted"
    assert s.run("ForgetUser", uuid4(), user_id=str(uuid4())).reason == "not_found"


def test_new_events_about_a_forgotten_user_stay_pseudonymous() -> None:
    s = Scenario()
    kari = s.user(email="kari@example.no", name="Kari")
    owner = s.user(name="Owner")
    charger = s.charger(owner)
    s.ok("ForgetUser", kari, user_id=str(kari))
    s.ok("UpdateUserAccess", owner, user_id=str(kari), charger_ids=[str(charger)])
    [changed] = s.of_type("UserAccessChanged")
    assert changed["user"]["email"].startswith("forgotten-")
    assert b"kari@example.no" not in stored_bytes(s)


def test_unsealing_raw_json_gives_the_same_values_as_the_mapper() -> None:
    s = Scenario()
    kari = s.user(email="kari@example.no", name="Kari")
    [stored] = [n for n in s.store.recorder.select_notifications(1, 100)
                if n.topic.endswith("UserRegistered") and n.originator_id == kari]
    keys = s.store.keyring.lookup({kari})
    assert b'"email":"kari@example.no"' in Ciphers.of(keys).unseal_state(stored.state)
    assert b'"name":"Kari"' in Ciphers.of(keys).unseal_state(stored.state)
    assert b"forgotten-" in Ciphers.of({}).unseal_state(stored.state)


def test_an_address_used_again_after_forgetting_seals_under_a_new_subject() -> None:
    """The e-mail's subject is retired with its key: what was sealed for the forgotten
    person stays forgotten, what is sealed since reads, and neither is taken for corrupt."""
    s = Scenario()
    owner = s.user()
    charger = s.charger(owner)
    old_invitation, _ = s.invite(owner, "kari@example.no", [charger])
    kari = s.user(email="kari@example.no")
    s.ok("ForgetUser", kari, user_id=str(kari))
    new_invitation, _ = s.invite(owner, "kari@example.no", [charger])
    again = s.user(email="kari@example.no")  # loads the address's claim, sealed before
    assert s.invitation_state(old_invitation).email.startswith("forgotten-")
    assert s.invitation_state(new_invitation).email == "kari@example.no"
    assert s.user_state(again).email == "kari@example.no"
    s.ok("ForgetUser", again, user_id=str(again))
    assert s.invitation_state(new_invitation).email.startswith("forgotten-")
