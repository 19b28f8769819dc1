"""Which e-mails an event causes: one `Notification` per (event, recipient), no I/O.

Events carry the names, addresses and locales the e-mail needs as they were when the
event happened (see `charger_access_client.access_events`), so this mapping is a pure function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args
from uuid import UUID

from charger_access_client.access_events import (
    EVENT_TYPES,
    AccessEvent,
    ChargerOwnershipTransferred,
    ChargerTransferredToUser,
    InvitationResent,
    InvitationRevoked,
    Person,
    ShareEnding,
    UserAccessChanged,
    UserAccessRemoved,
    UserInvited,
)
from charger_access_client.envelope import EventEnvelope
from charger_access_client.text import normalise_email
from services.notifications.privacy import undeliverable

Kind = Literal[
    "invitation",
    "invitation_revoked",
    "access_changed",
    "access_removed",
    "charger_transferred_to_you",
    "charger_transferred_from_you",
    "ownership_transferred",
    "share_ending",
]
KINDS: tuple[Kind, ...] = get_args(Kind)


class UnknownEventError(ValueError):
    """The envelope's type is not one this service knows; it is skipped, not retried."""


@dataclass(frozen=True)
class Notification:
    """One e-mail to send: the event it comes from, to whom, and which kind."""

    event_id: UUID
    kind: Kind
    to: Person
    event: AccessEvent

    @property
    def recipient(self) -> str:
        """The sent-log key: addresses compare case-insensitively."""
        return normalise_email(self.to.email)


def parse_event(envelope: EventEnvelope) -> AccessEvent:
    """The typed `data` of an envelope; raises UnknownEventError or pydantic's ValidationError."""
    model = EVENT_TYPES.get(envelope.type)
    if model is None:
        raise UnknownEventError(envelope.type)
    return model.model_validate(envelope.data)


def notifications_for(envelope: EventEnvelope) -> list[Notification]:
    """The e-mails `envelope` causes, at most one per recipient address. A forgotten
    person's pseudonym (`.invalid`) is never mailed."""
    event = parse_event(envelope)
    mapper = _MAPPERS.get(type(event))
    if mapper is None:
        return []
    seen: set[str] = set()
    result: list[Notification] = []
    for kind, person in mapper(event):
        if undeliverable(person.email):
            continue
        notification = Notification(envelope.id, kind, person, event)
        if notification.recipient not in seen:
            seen.add(notification.recipient)
            result.append(notification)
    return result


Targets = list[tuple[Kind, Person]]


def _invited(event: AccessEvent) -> Targets:
    assert isinstance(event, UserInvited)
    return [("invitation", Person(email=event.email, locale=event.locale))]


def _revoked(event: AccessEvent) -> Targets:
    assert isinstance(event, InvitationRevoked)
    return [("invitation_revoked", Person(email=event.email, locale=event.locale))]


def _access_changed(event: AccessEvent) -> Targets:
    assert isinstance(event, UserAccessChanged)
    return [("access_changed", event.user)]


def _access_removed(event: AccessEvent) -> Targets:
    assert isinstance(event, UserAccessRemoved)
    return [("access_removed", event.user)]


def _share_ending(event: AccessEvent) -> Targets:
    assert isinstance(event, ShareEnding)
    return [("share_ending", event.user)]


def _transferred_to_user(event: AccessEvent) -> Targets:
    assert isinstance(event, ChargerTransferredToUser)
    return [
        ("charger_transferred_to_you", event.to_user),
        ("charger_transferred_from_you", event.from_owner),
    ]


def _ownership(event: AccessEvent) -> Targets:
    assert isinstance(event, ChargerOwnershipTransferred)
    return [("ownership_transferred", event.to_owner)]


_MAPPERS: dict[type[AccessEvent], Callable[[AccessEvent], Targets]] = {
    UserInvited: _invited,
    InvitationResent: _invited,
    InvitationRevoked: _revoked,
    UserAccessChanged: _access_changed,
    UserAccessRemoved: _access_removed,
    ChargerTransferredToUser: _transferred_to_user,
    ChargerOwnershipTransferred: _ownership,
    ShareEnding: _share_ending,
}
MAILING_TYPES = frozenset(cls.__name__ for cls in _MAPPERS)
"""The envelope types that may cause an e-mail."""
