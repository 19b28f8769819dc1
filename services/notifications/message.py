"""Builds the MIME message, refusing any header value that could add a header.

Python 3.11's `email` package decodes RFC 2047 encoded words in values it is given, so
`=?UTF-8?Q?=0A?=` can turn into a real line break; policy `SMTP` alone does not stop
that. Every value that reaches a header is therefore checked with
`events.text.reject_header_hazards` first, and addresses are built from their parts
(`Address`), never parsed from a string a person typed.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from uuid import UUID

from events.text import reject_header_hazards
from services.notifications.render import RenderedEmail

MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c2f7e-2d51-5a3c-9a57-3c0b8f6d2a10")
MESSAGE_ID_DOMAIN = "charger-access"


class _CachedHeaderRegistry(HeaderRegistry):
    """The stdlib builds a new header class with `type()` on every header it sets; at
    hundreds of e-mails a second that was a tenth of the CPU. Same classes, built once."""

    @functools.cache  # noqa: B019 - one registry per process, never collected anyway
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


POLICY = SMTP.clone(header_factory=_CachedHeaderRegistry())


class HeaderHazardError(ValueError):
    """A value meant for a header could forge or split one; the e-mail is not sent."""


def message_id(event_id: UUID, recipient: str) -> str:
    """The same (event, recipient) always gets the same Message-ID, so a resend after a
    crash between send and record is recognisable as a duplicate by mail clients."""
    return f"<{uuid.uuid5(MESSAGE_ID_NAMESPACE, f'{event_id}:{recipient}')}@{MESSAGE_ID_DOMAIN}>"


def safe_header(value: str) -> str:
    try:
        return reject_header_hazards(value)
    except ValueError as error:
        raise HeaderHazardError(str(error)) from error


def address(addr_spec: str, display_name: str | None = None) -> Address:
    """An address built from checked parts: one mailbox, no way to smuggle a second."""
    safe_header(addr_spec)
    if display_name is not None:
        safe_header(display_name)
    if addr_spec.count("@") != 1 or any(c in addr_spec for c in ' ,;<>"()'):
        raise HeaderHazardError("recipient is not a single plain address")
    try:
        return Address(display_name=display_name or "", addr_spec=addr_spec)
    except (ValueError, IndexError) as error:
        raise HeaderHazardError(f"recipient is not a valid address: {error}") from error


def build_message(
    rendered: RenderedEmail,
    *,
    sender: Address,
    to: Address,
    msg_id: str,
    date: datetime,
    locale: str,
) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML)."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = safe_header(rendered.subject)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = safe_header(msg_id)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    # After the body: set_content drops every Content-* header already there.
    message["Content-Language"] = safe_header(locale)
    return message


def sender_address(mail_from: str) -> Address:
    """The configured `MAIL_FROM` ("Name <addr>" or "addr"), checked like any header."""
    name, addr_spec = parseaddr(mail_from)
    if not addr_spec:
        raise HeaderHazardError(f"MAIL_FROM is not an address: {mail_from!r}")
    return address(addr_spec, name or None)
