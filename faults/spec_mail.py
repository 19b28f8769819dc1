"""The e-mails the SPEC says the commands sent must cause, and the e-mails the sink got,
each reduced to the same `Mail` key so the two sides compare.

Why written here, from SPEC.md's "E-mails" section, and not with the notification
service's `notifications_for`/`message_id`: a bug there (a recipient dropped, a kind
mapped wrongly) would drop the same e-mail from both the expected and the received side
and the check would still balance. Here the expected side is derived from the ledger of
commands sent and their `accepted` results alone, and the received side from what the
e-mail itself carries (envelope recipient, subject, the accept link's invitation id).

SPEC's rules, as far as the fault traffic needs them:

- `InviteUser` accepted → one `invitation` e-mail to the invited address;
- `ResendInvitation` accepted → one `invitation_reminder` to the invitation's address;
- `RevokeInvitation` accepted → one `invitation_revoked` to the invitation's address;
- `UpdateUserAccess` accepted → one `access_changed` to the user's registered address when
  the command certainly changed something (SPEC: an e-mail per event; no change, no event):
  modelled only where every charger it lists is one the ledger registered and nothing
  shared before, and the user was never invited (so held no share it could revoke):
  the share is new and nothing else is sent; elsewhere it counts as unmodelled.

Any other accepted command that SPEC says sends e-mail (access changed/removed, transfers)
is counted as `unmodelled`, so a scenario that starts sending one fails loudly instead of
passing with an expectation that forgot it. E-mails no command causes (the scheduler's
`share_ending` notice) are not expected either: one arriving counts as unexpected.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

MAILING_UNMODELLED = frozenset(
    {"RemoveUser", "TransferChargerOwnership", "TransferChargerToUser"}
)
"""Commands SPEC says may send e-mail that this module does not model (yet)."""

_ACCEPT_LINK = re.compile(r"/invitations/([0-9a-fA-F-]{36})/accept")


@dataclass(frozen=True, order=True)
class Mail:
    """One e-mail as both sides can name it."""

    kind: str
    recipient: str
    about: str
    """The invitation id the e-mail is about ("" when the e-mail does not show one)."""


@dataclass(frozen=True)
class Command:
    """One command of the ledger: its type, its `data`, and its result's status."""

    type: str
    data: Mapping[str, Any]
    status: str | None


def _address(value: object) -> str:
    return str(value).strip().lower()


class _Books:
    """What the ledger says so far: addresses by invitation and by user, the chargers no
    share touched yet, and the e-mails due."""

    def __init__(self) -> None:
        self.invited: dict[str, str] = {}
        self.registered: dict[str, str] = {}
        self.untouched: set[str] = set()  # chargers registered here that nothing shared yet
        self.want: Counter[Mail] = Counter()
        self.unmodelled = 0

    def take(self, command: Command) -> None:
        # Command types are capitalised; nothing else of this class is.
        handler = getattr(self, command.type, None) if command.type[:1].isupper() else None
        if handler is not None:
            handler(command.data)
        elif command.type in MAILING_UNMODELLED:
            self.unmodelled += 1

    def RegisterUser(self, data: Mapping[str, Any]) -> None:  # noqa: N802 - command names
        self.registered[str(data["user_id"])] = _address(data["email"])

    def RegisterCharger(self, data: Mapping[str, Any]) -> None:  # noqa: N802
        self.untouched.add(str(data["charger_id"]))

    def UpdateUserAccess(self, data: Mapping[str, Any]) -> None:  # noqa: N802
        listed = {str(c) for c in data["charger_ids"]}
        user = str(data["user_id"])
        fresh = user in self.registered and self.registered[user] not in self.invited.values()
        if fresh and listed and listed <= self.untouched:
            self.want[Mail("access_changed", self.registered[user], "")] += 1
        else:
            self.unmodelled += 1
        self.untouched -= listed

    def InviteUser(self, data: Mapping[str, Any]) -> None:  # noqa: N802
        self.untouched -= {str(c) for c in data.get("charger_ids", ())}
        invitation = str(data["invitation_id"])
        self.invited[invitation] = _address(data["email"])
        self.want[Mail("invitation", self.invited[invitation], invitation)] += 1

    def ResendInvitation(self, data: Mapping[str, Any]) -> None:  # noqa: N802
        self._to_invitee(data, "invitation_reminder", about=True)

    def RevokeInvitation(self, data: Mapping[str, Any]) -> None:  # noqa: N802
        self._to_invitee(data, "invitation_revoked", about=False)

    def _to_invitee(self, data: Mapping[str, Any], kind: str, *, about: bool) -> None:
        invitation = str(data["invitation_id"])
        if invitation in self.invited:
            self.want[Mail(kind, self.invited[invitation], invitation if about else "")] += 1
        else:
            self.unmodelled += 1


def expected_mail(commands: Iterable[Command]) -> tuple[Counter[Mail], int]:
    """The e-mails SPEC says `commands` (in the order sent) cause, and how many accepted
    commands send e-mail in a way this module does not model."""
    books = _Books()
    for command in commands:
        if command.status == "accepted":
            books.take(command)
    return books.want, books.unmodelled


def command_of(
    value: bytes, headers: Iterable[tuple[str, bytes]] | None, status: str | None
) -> Command | None:
    """The ledger entry of one sent command (structured or binary binding); None when the
    bytes are no command at all (poison)."""
    found = dict(headers or ())
    try:
        if "ce_type" in found:
            return Command(found["ce_type"].decode(), json.loads(value), status)
        envelope = json.loads(value)
        return Command(str(envelope["type"]), dict(envelope["data"]), status)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return None


def kind_of(subject: str, text: str) -> str:
    """The e-mail's kind from its (English) subject; SPEC's kinds only. The fault suite
    sends no locale, so every e-mail is in `en`."""
    subject = " ".join(subject.split())
    if subject.startswith("Reminder:"):
        return "invitation_reminder"
    if " has shared " in subject and _ACCEPT_LINK.search(text):
        return "invitation"
    if subject.startswith("Your invitation to use a charger has been withdrawn"):
        return "invitation_revoked"
    if subject.endswith(" has changed your access to chargers"):
        return "access_changed"
    return f"other: {subject[:60]}"


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


def received_mail(messages: Iterable[Message]) -> Counter[Mail]:
    """The sink's messages (each with its envelope recipients in `X-Envelope-To`) as keys,
    one per recipient, copies counted."""
    got: Counter[Mail] = Counter()
    for message in messages:
        text = _text(message)
        subject = str(message.get("Subject", ""))
        link = _ACCEPT_LINK.search(text)
        kind = kind_of(_decoded(subject), text)
        about = (
            link.group(1).lower()
            if link and kind.startswith("invitation") and (kind != "invitation_revoked")
            else ""
        )
        for recipient in str(message.get("X-Envelope-To", "")).split(","):
            if recipient.strip():
                got[Mail(kind, _address(recipient), about)] += 1
    return got


def _decoded(header: str) -> str:
    if "=?" not in header:
        return header
    return str(make_header(decode_header(header)))
