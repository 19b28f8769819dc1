"""A hostile corpus: no recipient, name or subject may add or split a header."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.policy import default
from email.utils import getaddresses
from uuid import uuid4

import pytest

from services.notifications.mail.message import (
    HeaderHazardError,
    address,
    build_message,
    message_id,
    sender_address,
)
from services.notifications.mail.recipients import notifications_for
from services.notifications.mail.render import LinkSettings, RenderedEmail, Renderer
from services.notifications.privacy import RecipientKeys
from tests.unit.notifications.factories import envelope, invited, person

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
    "Ø" * 200,
    'Ørjan "Ø" <ørjan@attacker.example>, Bcc: evil@attacker.example',
    "Kari   Nordmann",
    "日本語の名前 テスト",
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


ENCODED_PHRASE = re.compile(r"^(=\?utf-8\?b\?[A-Za-z0-9+/=]*\?=)( =\?utf-8\?b\?[A-Za-z0-9+/=]*\?=)* <([^<>]*)>$")


def to_header(raw: bytes) -> tuple[str, str]:
    """The one mailbox of `To:`, read as RFC 5322/2047 say. (The stdlib's structured
    header parser puts a space between adjacent encoded words of a display name, which
    RFC 2047 section 6.2 says to ignore; its own EmailMessage output reads back wrong.)"""
    [value] = email.message_from_bytes(raw).get_all("To")  # compat32: as written
    unfolded = re.sub(r"\r?\n", "", value)
    encoded = ENCODED_PHRASE.match(unfolded)
    if encoded:
        phrase = unfolded.rsplit(" <", 1)[0]
        return str(make_header(decode_header(phrase))), encoded.group(3)
    [mailbox] = getaddresses([unfolded])
    return mailbox


def build(rendered: RenderedEmail, to_email: str, to_name: str | None) -> bytes:
    message = build_message(
        rendered,
        sender=SENDER,
        to=address(to_email, to_name),
        msg_id=message_id(uuid4(), to_email),
        date=datetime.now(UTC),
        locale="en",
    )
    return message.data


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
    assert to_header(raw) == (name, "victim@example.com")
    assert str(parsed["Subject"]) == f"{name} shared a charger"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_message_id_is_the_same_for_the_same_event_and_recipient() -> None:
    event_id, keys = uuid4(), RecipientKeys(b"secret")
    a, c = keys("a@b.no"), keys("c@b.no")
    assert message_id(event_id, a) == message_id(event_id, keys("A@B.no"))
    assert message_id(event_id, a) != message_id(event_id, c)
    assert message_id(event_id, a) != message_id(uuid4(), a)
    assert message_id(event_id, a).endswith("@charger-access>")


def test_a_message_id_cannot_confirm_a_guessed_address_without_the_secret() -> None:
    event_id = uuid4()
    ours = message_id(event_id, RecipientKeys(b"secret")("a@b.no"))
    assert ours != message_id(event_id, RecipientKeys(b"guess")("a@b.no"))
    assert ours != message_id(event_id, "a@b.no")  # nor from the address itself


@pytest.mark.parametrize(
    "subject",
    ["Kari Nordmann har delt 2 ladere med deg " * 5, "Å" * 300, "x" * 300, "Vous êtes désormais propriétaire de la borne « Hytta på Geilo »"],
)
def test_long_subjects_fold_and_read_back_the_same(subject: str) -> None:
    subject = subject.strip()
    rendered = RenderedEmail(subject=subject, text="t\n", html="<p>h</p>")
    raw = build(rendered, "victim@example.com", None)
    parsed = email.message_from_bytes(raw, policy=default)
    assert str(parsed["Subject"]) == subject
    assert set(parsed.keys()) == EXPECTED_HEADERS
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    if not subject.isascii():
        assert all(len(line) <= 78 for line in head.split(b"\r\n"))


def test_bodies_are_quoted_printable_and_decode_to_what_was_rendered() -> None:
    text = "Hei på deg,\n--=_ca_fake boundary\n. a dot line\n" + "lang linje " * 40 + "\n"
    html = "<p>Élodie &amp; Ørjan</p>\n"
    raw = build(RenderedEmail(subject="s", text=text, html=html), "victim@example.com", "Ø")
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed.get_content_type() == "multipart/alternative"
    plain, rich = parsed.iter_parts()
    assert plain.get_content().replace("\r\n", "\n") == text
    assert rich.get_content().replace("\r\n", "\n") == html
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))


@pytest.mark.parametrize("locale", ["nb\r\nBcc: x@y.z", "", "nb fr"])
def test_a_bad_locale_never_reaches_content_language(locale: str) -> None:
    message = build_message
    with pytest.raises(HeaderHazardError):
        message(
            RENDERED,
            sender=SENDER,
            to=address("victim@example.com"),
            msg_id=message_id(uuid4(), "victim@example.com"),
            date=datetime.now(UTC),
            locale=locale,
        )


def test_an_international_domain_is_written_in_punycode() -> None:
    mailbox = address("ola@blåbær.no", "Ola")
    assert mailbox.addr_spec == "ola@xn--blbr-roah.no"
