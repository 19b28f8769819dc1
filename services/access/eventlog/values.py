"""What a reader of the log hands its followers: logged events, their heads, their ids.

Pure values (no database, no eventsourcing), so the projection's fold can import them
without dragging I/O along.
"""

from __future__ import annotations

from datetime import datetime
from hashlib import sha1
from typing import Any
from uuid import UUID, SafeUUID

from charger_access_client.access_events import AccessEvent
from charger_access_client.envelope import EventEnvelope
from services.access.domain.ids import ID_NAMESPACE


class EventHead:
    """An envelope's attributes but `data`: what the projection needs besides the event.

    Made once per event read, so it is a slotted object, and the two attributes only the
    relay and the history rows read — the event's id (a SHA-1 based uuid5) and the
    subject as text — are computed on first use.
    """

    __slots__ = ("_id", "_originator_id", "_originator_version", "_subject", "actor",
                 "commandid", "sequence", "time", "type")

    def __init__(self, originator_id: UUID, originator_version: int, type_: str,
                 subject: object, sequence: int, time: datetime, actor: str | None,
                 commandid: str | None) -> None:
        self._id: UUID | None = None
        self._originator_id = originator_id
        self._originator_version = originator_version
        self._subject = subject
        self.type = type_
        self.sequence = sequence
        self.time = time
        self.actor = actor
        self.commandid = commandid

    @property
    def id(self) -> UUID:
        if self._id is None:
            self._id = event_id(self._originator_id, self._originator_version)
        return self._id

    @property
    def subject(self) -> str:
        return str(self._subject)

    def __repr__(self) -> str:
        return (f"EventHead(id={self.id!r}, type={self.type!r}, subject={self.subject!r}, "
                f"sequence={self.sequence!r}, time={self.time!r}, actor={self.actor!r}, "
                f"commandid={self.commandid!r})")


class LoggedEvent:
    """One stored event, as it is published on `access.events`.

    `LoggedEvent(position, envelope)`; the reader also passes the typed, validated `event`
    (what `envelope.data` is dumped from), so the projection folds it without validating
    `data` again. A reader may give the envelope's head and event instead of the envelope:
    then `envelope` is built on first use (the relay needs it, a rebuild never does).
    Equality and repr are those of (position, envelope), as for the dataclass it was.
    """

    __slots__ = ("_envelope", "_head", "event", "position")

    def __init__(
        self,
        position: int,
        envelope: EventEnvelope | None = None,
        event: AccessEvent | None = None,
        *,
        head: EventHead | None = None,
    ) -> None:
        if envelope is None and (head is None or event is None):
            raise TypeError("LoggedEvent needs an envelope, or a head and an event")
        self.position = position
        self.event = event
        self._envelope = envelope
        self._head = head

    @property
    def envelope(self) -> EventEnvelope:
        if self._envelope is None:
            head, event = self._head, self.event
            assert head is not None
            assert event is not None
            self._envelope = EventEnvelope(
                id=head.id, type=head.type, subject=head.subject, sequence=head.sequence,
                time=head.time, actor=head.actor, commandid=head.commandid,
                data=event.model_dump(mode="json"),
            )
        return self._envelope

    @property
    def data(self) -> dict[str, Any]:
        """The published event's `data` (from the envelope, built if need be)."""
        return self.envelope.data

    @property
    def head(self) -> EventHead | EventEnvelope:
        """The envelope's attributes but `data` (the envelope itself when already built)."""
        if self._envelope is not None:
            return self._envelope
        assert self._head is not None
        return self._head

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LoggedEvent):
            return NotImplemented
        return (self.position, self.envelope) == (other.position, other.envelope)

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside; the envelope never hashed

    def __repr__(self) -> str:
        return f"LoggedEvent(position={self.position!r}, envelope={self.envelope!r})"


_EVENT_ID_PREFIX = ID_NAMESPACE.bytes + b"event:"
_VERSION_5 = (0xF000 << 64, 5 << 76)  # the UUID's version nibble: mask, value
_VARIANT = (0xC000 << 48, 0x8000 << 48)  # the RFC 4122 variant bits: mask, value


def event_id(originator_id: UUID, originator_version: int) -> UUID:
    """`domain.ids.published_event_id` (a uuid5), without the uuid module's slow generic
    path: a rebuild derives one per history row."""
    name = f"{originator_id}:{originator_version}".encode()
    digest = sha1(_EVENT_ID_PREFIX + name, usedforsecurity=False).digest()  # uuid5 is SHA-1
    value = int.from_bytes(digest[:16], "big")
    value = (value & ~_VERSION_5[0]) | _VERSION_5[1]
    return uuid_of_int((value & ~_VARIANT[0]) | _VARIANT[1])


def uuid_of_int(value: int) -> UUID:
    """`UUID(int=value)` for a value known to be in range, without `__init__`'s checks."""
    made = object.__new__(UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", SafeUUID.unknown)
    return made
