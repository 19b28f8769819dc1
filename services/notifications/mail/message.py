"""Writes the MIME message bytes ourselves, from values checked to be unable to add a header.

Why not `email.message.EmailMessage`: building and flattening one costs ~2 ms (the
header registry parses every value it is given, then folds it again), which capped the
service below 500 e-mails/s on its own. The message we send has a fixed shape, so it is
written directly, in a few dozen microseconds:

- every value that reaches a header is first checked with
  `charger_access_client.text.reject_header_hazards` (no CR/LF or other control or format
  characters, no RFC 2047 marker `=?`): a name, subject or address cannot start a new header line or
  smuggle one in as an encoded word;
- addresses are built from their parts and must be plain ASCII `local@domain` made of
  RFC 5322 atext (IDN domains are written in punycode); display names are written as a
  quoted-string (printable ASCII) or as base64 encoded words (anything else), so their
  commas, quotes and angle brackets stay inside the one mailbox;
- the subject is folded at spaces (ASCII) or written as encoded words of at most 75
  characters, so no line exceeds the limits of RFC 5322;
- both bodies are quoted-printable, so no body line can be taken for the MIME boundary
  (which contains `=_`, impossible in quoted-printable) or exceed 76 characters.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parseaddr
from uuid import UUID

from charger_access_client.text import reject_header_hazards
from services.notifications.mail.render import RenderedEmail

MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c2f7e-2d51-5a3c-9a57-3c0b8f6d2a10")
MESSAGE_ID_DOMAIN = "charger-access"

_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")
_FOLD_AT = 76


class HeaderHazardError(ValueError):
    """A value meant for a header could forge or split one; the e-mail is not sent."""


@dataclass(frozen=True)
class Mailbox:
    """One checked address (`addr_spec`, ASCII) with an optional display name."""

    addr_spec: str
    display_name: str = ""

    def header_value(self) -> str:
        if not self.display_name:
            return self.addr_spec
        return f"{_phrase(self.display_name)} <{self.addr_spec}>"


@dataclass(frozen=True)
class OutgoingEmail:
    """What goes over SMTP: the envelope and the finished message bytes (CRLF lines)."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


def message_id(event_id: UUID, recipient_key: str) -> str:
    """The same (event, recipient) always gets the same Message-ID, so a resend (an
    e-mail a crash left unmarked) is recognisable as a duplicate by mail clients. Made
    from the recipient's *key* (`privacy.RecipientKeys`, keyed by `TOKEN_SECRET`), not the
    address: whoever sees the header cannot check a guessed address against it."""
    name = f"{event_id}:{recipient_key}"
    return f"<{uuid.uuid5(MESSAGE_ID_NAMESPACE, name)}@{MESSAGE_ID_DOMAIN}>"


def safe_header(value: str) -> str:
    if _PRINTABLE_ASCII.match(value) and "=?" not in value:
        return value  # the common case, without a per-character Unicode lookup
    try:
        return reject_header_hazards(value)
    except ValueError as error:
        raise HeaderHazardError(str(error)) from error


def address(addr_spec: str, display_name: str | None = None) -> Mailbox:
    """An address built from checked parts: one mailbox, no way to smuggle a second."""
    safe_header(addr_spec)
    if display_name is not None:
        safe_header(display_name)
    local, at, domain = addr_spec.rpartition("@")
    if not at or not _LOCAL_PART.match(local) or len(local) > 64:
        raise HeaderHazardError("recipient is not a single plain address")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise HeaderHazardError(f"recipient's domain is not valid: {error}") from error
    if not _DOMAIN.match(ascii_domain) or len(ascii_domain) > 253:
        raise HeaderHazardError("recipient's domain is not valid")
    return Mailbox(f"{local}@{ascii_domain}", display_name or "")


def sender_address(mail_from: str) -> Mailbox:
    """The configured `MAIL_FROM` ("Name <addr>" or "addr"), checked like any header."""
    name, addr_spec = parseaddr(mail_from)
    if not addr_spec:
        raise HeaderHazardError(f"MAIL_FROM is not an address: {mail_from!r}")
    return address(addr_spec, name or None)


def build_message(
    rendered: RenderedEmail,
    *,
    sender: Mailbox,
    to: Mailbox,
    msg_id: str,
    date: datetime,
    locale: str,
) -> OutgoingEmail:
    """A multipart/alternative message (plain text first, then HTML), as SMTP bytes."""
    if not _LANGUAGE_TAG.match(locale):
        raise HeaderHazardError("locale is not a language tag")
    msg_id = safe_header(msg_id)
    if not _PRINTABLE_ASCII.match(msg_id) or " " in msg_id:
        raise HeaderHazardError("Message-ID is not a plain msg-id")
    # Unique per message is all a boundary needs: `=_` never occurs in quoted-printable.
    boundary = f"=_ca_{hashlib.blake2b(msg_id.encode(), digest_size=16).hexdigest()}"
    head = "".join(
        (
            f"From: {sender.header_value()}\r\n",
            f"To: {to.header_value()}\r\n",
            f"Subject: {_unstructured(safe_header(rendered.subject), len('Subject: '))}\r\n",
            f"Date: {_date_header(date.replace(microsecond=0), date.utcoffset())}\r\n",
            f"Message-ID: {msg_id}\r\n",
            "Auto-Submitted: auto-generated\r\n",
            f"Content-Language: {locale}\r\n",
            "MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
            "\r\n",
        )
    ).encode("ascii")
    data = b"".join(
        (
            head,
            _part(boundary, "plain", rendered.text),
            _part(boundary, "html", rendered.html),
            f"--{boundary}--\r\n".encode("ascii"),
        )
    )
    return OutgoingEmail(sender.addr_spec, to.addr_spec, msg_id, data)


@functools.lru_cache(maxsize=16)
def _date_header(date: datetime, offset: timedelta | None) -> str:
    """Formatted once per second: e-mails sent together share their Date. `offset` is
    part of the key: the same instant in another zone compares equal but reads apart."""
    assert offset == date.utcoffset()
    return format_datetime(date)


def _part(boundary: str, subtype: str, text: str) -> bytes:
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    return (
        (
            f"--{boundary}\r\n"
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        + encoded
        + b"\r\n"
    )  # this CRLF belongs to the next delimiter


def _phrase(name: str) -> str:
    """A display name: a quoted-string when printable ASCII, else encoded words (RFC 2047
    readers ignore the folding whitespace between them)."""
    if _PRINTABLE_ASCII.match(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "\r\n ".join(_encoded_words(name, len("To: ")))


def _unstructured(text: str, used: int) -> str:
    """An unstructured header value (the subject), folded; `used` is the name's length."""
    if not _PRINTABLE_ASCII.match(text):
        return "\r\n ".join(_encoded_words(text, used))
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and used + len(line) + 1 + len(word) > _FOLD_AT:
            lines.append(line)
            line, used = word, 1
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    # Folding inserts CRLF before a space that is already there, so unfolding restores it.
    return "\r\n ".join(lines)


def _encoded_words(text: str, used: int) -> list[str]:
    """RFC 2047 base64 encoded words, split between characters, each on a line of at most
    76 characters (`used`: what precedes the first word on its line)."""
    words: list[str] = []
    room = _word_bytes(used)
    chunk = bytearray()
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > room:
            words.append(_encoded_word(bytes(chunk)))
            chunk.clear()
            room = _word_bytes(1)  # continuation lines start with one space
        chunk += encoded
    if chunk or not words:
        words.append(_encoded_word(bytes(chunk)))
    return words


def _word_bytes(used: int) -> int:
    base64_chars = _FOLD_AT - used - len("=?utf-8?b??=")
    return base64_chars // 4 * 3


def _encoded_word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="
