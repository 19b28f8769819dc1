"""Which events are about a charger, user, group or invitation (pure, fed in store order).

An event is about an id when its data names it in a field of that kind (`charger_id`,
a charger reference, `user_id`, a person, `group_id`, `invitation_id`, ...). Some follow
from earlier events: an invitation's decline or revocation is about the chargers it was
for and about the user whose e-mail it went to; an event a user caused is in their
timeline too. The filter remembers what it needs as the log goes by.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from charger_access_client.access_events import AccessEvent
from charger_access_client.envelope import EventEnvelope
from charger_access_client.text import normalise_email
from services.access.audit.directory import Directory
from services.access.audit.sentences import describe

Kind = Literal["charger", "user", "group", "invitation"]
KINDS: tuple[Kind, ...] = ("charger", "user", "group", "invitation")

_KEYS: dict[str, Kind] = {
    "charger_id": "charger",
    "charger_ids": "charger",
    "user_id": "user",
    "owner_id": "user",
    "from_owner_id": "user",
    "group_id": "group",
    "from_group_id": "group",
    "to_group_id": "group",
    "invitation_id": "invitation",
}


@dataclass(frozen=True)
class Subject:
    kind: Kind
    id: str


@dataclass
class Mentions:
    ids: dict[Kind, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    emails: set[str] = field(default_factory=set)

    def names(self, subject: Subject) -> bool:
        return subject.id in self.ids[subject.kind]


def mentions(envelope: EventEnvelope) -> Mentions:
    """Every id the event's data names, by kind, and the e-mail addresses it names."""
    found = Mentions()
    _walk(envelope.data, found)
    return found


def _walk(value: dict[str, Any] | list[Any], found: Mentions) -> None:
    """Only into dicts and lists: a call per leaf was most of the walk of an event naming
    a thousand chargers (three leaves each)."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                _walk(item, found)
        return
    for key, item in value.items():
        kind = _KEYS.get(key)
        if kind is not None and item is not None:
            if isinstance(item, list):
                found.ids[kind].update(str(one) for one in item)
            else:
                found.ids[kind].add(str(item))
        elif key == "email" and isinstance(item, str):
            found.emails.add(normalise_email(item))
        elif isinstance(item, dict | list):
            _walk(item, found)


@dataclass(frozen=True)
class TimelineEntry:
    position: int
    time: datetime
    type: str
    event_id: str
    subject: str
    actor: str | None
    actor_name: str | None
    command_id: str | None
    sentence: str
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position, "time": self.time.isoformat(), "type": self.type,
            "event_id": self.event_id, "subject": self.subject, "actor": self.actor,
            "actor_name": self.actor_name, "command_id": self.command_id,
            "sentence": self.sentence, "data": self.data,
        }


class TimelineFilter:
    """Feed it every published event in store order; it returns the entries about `subject`."""

    def __init__(self, subject: Subject, emails: Iterable[str] = ()) -> None:
        """`emails`: the user's addresses, when known up front, so invitations sent to
        them before they registered are found too."""
        self.subject = subject
        self.directory = Directory()
        self._emails = {normalise_email(e) for e in emails}
        self._invitations: dict[str, set[str]] = {}
        """invitation_id → the charger ids it was for (the ones about our subject kept)."""
        self._related: set[str] = set()
        """Invitations that are about the subject: their later events are too."""

    def feed(self, envelope: EventEnvelope) -> TimelineEntry | None:
        about = self.is_about(envelope, mentions(envelope))
        entry = self._entry(envelope) if about else None
        self.directory.learn(envelope)
        return entry

    def is_about(self, envelope: EventEnvelope, found: Mentions) -> bool:
        """Whether the event (naming `found`) is about the subject; fed in store order.

        `feed` without the entry: a reader that words its page with a directory of its
        own (`indexed_timeline`) need not word every event twice, nor walk it twice. The
        filter's `directory` learns nothing from it."""
        subject = self.subject
        if subject.kind == "user" and envelope.type == "UserRegistered" and found.names(subject):
            self._emails |= found.emails
        invitations = found.ids["invitation"]
        for invitation_id in invitations:
            chargers = self._invitations.setdefault(invitation_id, set())
            chargers |= found.ids["charger"]
            found.ids["charger"] |= chargers
        about = found.names(subject) or bool(invitations & self._related)
        if subject.kind == "user":
            about = about or envelope.actor == subject.id or bool(found.emails & self._emails)
        if about:
            self._related |= invitations
        return about

    def _entry(self, envelope: EventEnvelope) -> TimelineEntry:
        return entry_of(self.directory, envelope)


def entry_of(directory: Directory, envelope: EventEnvelope,
             event: AccessEvent | None = None) -> TimelineEntry:
    """The event as a timeline entry, in words, with the names `directory` knows (`event`:
    its data validated, when the reader has it)."""
    actor = envelope.actor
    return TimelineEntry(
        position=envelope.sequence, time=envelope.time, type=envelope.type,
        event_id=str(envelope.id), subject=envelope.subject, actor=actor,
        actor_name=directory.actor(actor) if actor else None,
        command_id=envelope.commandid, sentence=describe(directory, envelope, event),
        data=envelope.data,
    )


def timeline(subject: Subject, envelopes: Iterable[EventEnvelope]) -> list[TimelineEntry]:
    """Every event about `subject`, in store order."""
    envelopes = list(envelopes)
    events = TimelineFilter(subject, registered_emails(subject, envelopes))
    return [entry for e in envelopes if (entry := events.feed(e)) is not None]


def registered_emails(subject: Subject, envelopes: Iterable[EventEnvelope]) -> list[str]:
    """The e-mail a user registered with (none for other kinds or unknown users)."""
    if subject.kind != "user":
        return []
    return [e.data["email"] for e in envelopes
            if e.type == "UserRegistered" and e.data.get("user_id") == subject.id]
