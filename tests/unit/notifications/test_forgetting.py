"""Forgetting a person: keyed recipients, pseudonymised envelopes, and the deliverer's
handling of `UserForgotten` against the in-memory sent-log."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from uuid import UUID, uuid4

from charger_access_client.access_events import (
    Person,
    UserAccessChanged,
    UserForgotten,
    UserRegistered,
)
from services.notifications.mail.recipients import notifications_for
from services.notifications.privacy import (
    Forgetting,
    RecipientKeys,
    is_key,
    pseudonymise,
    undeliverable,
)

from .factories import charger, envelope, invited, person
from .fakes import FakeMailer, handle, make, raw, retry_until_idle

KEYS = RecipientKeys(b"secret")


def pseudonyms(user_id: UUID) -> tuple[str, str]:
    return (
        f"forgotten-{user_id.hex[:12]}@forgotten.invalid",
        f"Forgotten person {user_id.hex[:12]}",
    )


def forgotten(user_id: UUID) -> bytes:
    email, name = pseudonyms(user_id)
    event = UserForgotten(user_id=user_id, pseudonym_email=email, pseudonym_name=name)
    return raw(event)


def changed(user: Person, by: Person | None = None) -> UserAccessChanged:
    return UserAccessChanged(
        user=user, changed_by=by or person("boss@example.no", "Boss"), chargers=[charger()],
        level="charge",
    )


def test_recipient_keys_are_keyed_case_insensitive_and_hold_no_address() -> None:
    key = KEYS("Ola@Example.NO")
    assert key == KEYS(" ola@example.no")
    assert is_key(key)
    assert "ola" not in key
    assert key != RecipientKeys(b"other")("ola@example.no")


def test_pseudonymise_replaces_the_person_everywhere_and_no_one_else() -> None:
    uid = uuid4()
    inviter = Person(user_id=uid, email="Kari@Example.no", name="Kari Nordmann")
    data = invited(email="ola@example.no", inviter=inviter).model_dump(mode="json")
    data["note"] = ["kari@example.no", "Kari Nordmann", "Kari"]
    email, name = pseudonyms(uid)
    forgetting = Forgetting(uid, email, name).learn(data, KEYS)
    after = pseudonymise(data, forgetting, KEYS)
    assert after["inviter"] == {"user_id": str(uid), "email": email, "name": name, "locale": "en"}
    assert after["note"] == [email, name, "Kari"]
    assert after["email"] == "ola@example.no"
    assert "Kari Nordmann" not in json.dumps(after)
    assert "kari@" not in json.dumps(after).lower()


def test_an_address_known_only_by_its_key_is_replaced() -> None:
    uid = uuid4()
    data = invited(email="ola@example.no").model_dump(mode="json")
    email, name = pseudonyms(uid)
    after = pseudonymise(data, Forgetting(uid, email, name, frozenset({KEYS("OLA@example.no")})), KEYS)
    assert after["email"] == email


def test_a_pseudonym_is_never_mailed() -> None:
    uid = uuid4()
    email, name = pseudonyms(uid)
    assert undeliverable(email)
    assert notifications_for(envelope(invited(email=email))) == []
    assert notifications_for(envelope(changed(Person(user_id=uid, email=email, name=name)))) == []


async def test_forgetting_empties_their_rows_drops_their_pending_mail_and_keeps_dedupe() -> None:
    deliverer, log, mailer, _ = make()
    uid = uuid4()
    ola = Person(user_id=uid, email="ola@example.no", name="Ola Nordmann")
    first = raw(changed(ola))
    await handle(deliverer, [first])
    assert len(mailer.sent) == 1
    [sent_row] = log.rows.values()
    assert sent_row.claim.envelope == ""  # sent: the envelope is gone for everyone
    assert is_key(sent_row.claim.recipient)
    assert sent_row.claim.user_id == uid

    mailer.down = True  # the next one stays queued
    pending = raw(changed(ola))
    await handle(deliverer, [pending])
    mailer.down = False
    await handle(deliverer, [forgotten(uid)])
    assert deliverer.stats.forgotten == 1
    assert sorted(r.status for r in log.rows.values()) == ["forgotten", "sent"]
    assert all(r.claim.envelope == "" for r in log.rows.values())
    await retry_until_idle(deliverer)
    assert len(mailer.sent) == 1

    await handle(deliverer, [first, pending])  # redelivered: nothing again
    late = raw(changed(ola))  # never seen, from a partition that lagged behind
    await handle(deliverer, [late])
    await retry_until_idle(deliverer)
    assert len(mailer.sent) == 1
    assert len(log.rows) == 2


async def test_an_invitation_address_joined_to_the_account_later_is_forgotten_too() -> None:
    deliverer, log, mailer, _ = make(FakeMailer(down=True))
    uid = uuid4()
    invitation = raw(invited(email="Ola@example.no"))
    registered = raw(UserRegistered(user_id=uid, email="ola@example.no", name="Ola"))
    await handle(deliverer, [invitation, registered])
    await handle(deliverer, [forgotten(uid)])
    [row] = log.rows.values()
    assert (row.status, row.claim.envelope, row.claim.user_id) == ("forgotten", "", uid)
    mailer.down = False
    await retry_until_idle(deliverer)
    await handle(deliverer, [raw(invited(email="OLA@example.no"))])  # late, never seen
    assert mailer.sent == []


async def test_mail_to_others_still_queued_names_them_by_their_pseudonym() -> None:
    deliverer, log, mailer, _ = make(FakeMailer(down=True))
    uid = uuid4()
    kari = Person(user_id=uid, email="kari@example.no", name="Kari Nordmann")
    await handle(deliverer, [raw(invited(email="ola@example.no", inviter=kari))])
    # forgotten in the same batch as a later invitation she sent
    later = raw(invited(email="per@example.no", inviter=kari))
    await handle(deliverer, [later, forgotten(uid)])
    assert "Kari" not in json.dumps([r.claim.envelope for r in log.rows.values()])
    mailer.down = False
    await retry_until_idle(deliverer)
    assert sorted(m["To"] for m in mailer.parsed()) == ["ola@example.no", "per@example.no"]
    _, name = pseudonyms(uid)
    for sent in mailer.sent:
        message = email.message_from_bytes(sent.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        plain = message.get_body(("plain",))
        assert plain is not None
        text = plain.get_content()
        assert "Kari" not in text
        assert "kari@" not in text
        assert name in text


async def test_an_event_arriving_after_the_forgetting_reads_them_as_their_pseudonym() -> None:
    deliverer, _, mailer, _ = make()
    uid = uuid4()
    kari = Person(user_id=uid, email="kari@example.no", name="Kari Nordmann")
    await handle(deliverer, [raw(changed(kari))])
    await handle(deliverer, [forgotten(uid)])
    await handle(deliverer, [raw(invited(email="ola@example.no", inviter=kari))])
    assert [m.recipient for m in mailer.sent] == ["kari@example.no", "ola@example.no"]
    later = email.message_from_bytes(mailer.sent[1].data, policy=email.policy.default)
    assert isinstance(later, EmailMessage)
    plain = later.get_body(("plain",))
    assert plain is not None
    assert "Kari" not in plain.get_content()
