"""A hostile corpus: no recipient, name or subject may add or split a header."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default
from email.utils import getaddresses
from uuid import uuid4

import pytest

from services.notifications.message import (
    HeaderHazardError,
    address,
    build_message,
    message_id,
    sender_address,
)
from services.notifications.recipients import notifications_for
from services.notifications.render import LinkSettings, RenderedEmail, Renderer

from .factories import envelope, invited, person

HOSTILE_TEXT = [
    "Eve\r\nBcc: evil@attacker.example",
    "Eve\nBcc: evil@attacker.example",
    "Eve\rBcc: evil@attacker.example",
    "=?UTF-8?Q?Eve=0ABcc:_evil@attacker.example?=",
    "=?utf-8?b?RXZlCkJjYzogZXZpbEBhdHRhY2tlci5leGFtcGxl?=",
    "Eve =?UTF-8?Q?=0D=0A?= Bcc: evil@attacker.example",
    "Eve\x00",
    "Eve\x1b[31m",
    "Eve\x0bBcc: evil@attacker.example",
    "Eve\tBcc: evil@attacker.example",
    "Eve\u0085Bcc: evil@attacker.example",
    "Eve\u2028Bcc: evil@attacker.example",
    "Eve\u2029Bcc: evil@attacker.example",
    "Eve\u200e",
    "Eve\ufeff",
]
HOSTILE_ADDRESSES = [
    *("victim@example.com" + t.removeprefix("Eve") for t in HOSTILE_TEXT),
    "victim@example.com, evil@attacker.example",
    "victim@example.com>, <evil@attacker.example",
    "Evil <evil@attacker.example>",
    "victim@example.com;evil@attacker.example",
    "=?utf-8?q?evil?=@attacker.example",
    "no-at-sign.example",
    "two@@attacker.example",
]
TRICKY_BUT_SAFE_NAMES = [
    "Ola, Nordmann",
    'Conan "The Barbarian" O\'Brien',
    "Dupont <dupont@attacker.example>",
    "Ørjan Æsøy-Ståle",
    "Élodie Français",
    "Bcc: evil@attacker.example",
    "a" * 200,
]
EXPECTED_HEADERS = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Language",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
}
RENDERED = RenderedEmail(subject="Hello", text="text\n", html="<p>html</p>")
SENDER = sender_address("charger-access <no-reply@charger-access.example>")


def build(rendered: RenderedEmail, to_email: str, to_name: str | None) -> bytes:
    message = build_message(
        rendered,
        sender=SENDER,
        to=address(to_email, to_name),
        msg_id=message_id(uuid4(), to_email),
        date=datetime.now(UTC),
        locale="en",
    )
    return message.as_bytes()


@pytest.mark.parametrize("name", HOSTILE_TEXT)
def test_hostile_display_name_is_refused(name: str) -> None:
    with pytest.raises(HeaderHazardError):
        build(RENDERED, "victim@example.com", name)


@pytest.mark.parametrize("recipient", HOSTILE_ADDRESSES)
def test_hostile_address_is_refused(recipient: str) -> None:
    with pytest.raises(HeaderHazardError):
        build(RENDERED, recipient, None)


@pytest.mark.parametrize("name", HOSTILE_TEXT)
def test_hostile_name_in_the_subject_is_refused(name: str) -> None:
    """The inviter's name goes into the invitation's subject."""
    event = invited(inviter=person(name=name))
    [notification] = notifications_for(envelope(event))
    rendered = Renderer(LinkSettings("https://x.example", b"k")).render(notification)
    with pytest.raises(HeaderHazardError):
        build(rendered, "victim@example.com", None)


@pytest.mark.parametrize("name", TRICKY_BUT_SAFE_NAMES)
def test_odd_but_safe_names_stay_inside_one_to_header(name: str) -> None:
    rendered = RenderedEmail(subject=f"{name} shared a charger", text="t\n", html="<p>h</p>")
    raw = build(rendered, "victim@example.com", name)
    parsed = email.message_from_bytes(raw, policy=default)
    assert set(parsed.keys()) == EXPECTED_HEADERS
    assert getaddresses(parsed.get_all("To", [])) == [(name, "victim@example.com")]
    assert str(parsed["Subject"]) == f"{name} shared a charger"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_message_id_is_the_same_for_the_same_event_and_recipient() -> None:
    event_id = uuid4()
    assert message_id(event_id, "a@b.no") == message_id(event_id, "a@b.no")
    assert message_id(event_id, "a@b.no") != message_id(event_id, "c@b.no")
    assert message_id(event_id, "a@b.no") != message_id(uuid4(), "a@b.no")
    assert message_id(event_id, "a@b.no").endswith("@charger-access>")
