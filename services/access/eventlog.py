"""Reading the event store's notification log as published events, in store order.

The relay and the projection both follow this log; neither is ever written to from the
command path, so there is no dual write. Positions are the store's notification ids,
which the store hands out in commit order (it locks the table for each insert), so a
reader that has seen position N will never later find a committed event below N.

Only published event types are read: positions are therefore sparse (the gaps are
internal bookkeeping events such as uniqueness claims). Command results report the
position of the command's last *published* event, so a reader that has applied it has
applied everything the command did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from hashlib import sha1
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID, SafeUUID

import asyncpg
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from pydantic_core import from_json

from events.access_events import EVENT_TYPES, AccessEvent
from events.envelope import EventEnvelope
from services.access.domain.charger import Charger
from services.access.domain.group import Group
from services.access.domain.ids import _NAMESPACE as EVENT_ID_NAMESPACE  # same uuid5 space
from services.access.domain.ids import published_event_id
from services.access.domain.invitation import Invitation
from services.access.domain.user import User
from services.access.store.application import EVENTS_TABLE, AccessStore
from services.access.unsealing import unsealed

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection | PoolConnectionProxy[Any]

__all__ = ["EventLog", "LoggedEvent", "unsealed"]

_BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
                "actor", "command_id"}


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
            self._id = _event_id(self._originator_id, self._originator_version)
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


def _published_topics() -> list[str]:
    topics = []
    for aggregate in (User, Group, Charger, Invitation):
        for value in vars(aggregate).values():
            if (isinstance(value, type) and issubclass(value, aggregate.Event)
                    and value.__name__ in EVENT_TYPES and value.PUBLISHED):
                topics.append(get_topic(value))
    return topics


PUBLISHED_TOPICS = _published_topics()


def _mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    AccessStore.register_transcodings(AccessStore.__new__(AccessStore), transcoder)
    return Mapper(transcoder=transcoder)


class EventLog:
    """Decodes stored events into published envelopes (the shape of `access.events`)."""

    def __init__(self, table: str = EVENTS_TABLE) -> None:
        self._mapper = _mapper()
        self._select = (
            f"SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {table} WHERE notification_id > $1 AND topic = ANY($3::text[]) "
            f"ORDER BY notification_id LIMIT $2"
        )
        self._last_published = (
            f"SELECT notification_id FROM {table} WHERE topic = ANY($1::text[]) "  # noqa: S608
            f"ORDER BY notification_id DESC LIMIT 1"
        )

    async def read(self, conn: Connection, after: int, limit: int) -> list[LoggedEvent]:
        rows = await self.fetch_rows(conn, after, limit)
        return [self.decode(row) for row in await unsealed(conn, rows)]

    async def fetch_rows(self, conn: Connection, after: int, limit: int) -> list[Any]:
        """Up to `limit` stored rows of published events after `after`, as stored (sealed)."""
        return list(await conn.fetch(self._select, after, limit, PUBLISHED_TOPICS))

    @property
    def fast(self) -> bool:
        """Whether rows may be parsed without the mapper (no cipher, no compression)."""
        return self._mapper.cipher is None and self._mapper.compressor is None

    async def head(self, conn: Connection) -> int:
        """The highest position in the store (published or not)."""
        value = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}")  # noqa: S608
        return int(value)

    async def last_published(self, conn: Connection) -> int:
        """The position of the last published event (0 before any): where `read` ends.

        Walks the position index backwards to the first published event, so it costs a
        few rows, not a scan.
        """
        value = await conn.fetchval(self._last_published, PUBLISHED_TOPICS)
        return int(value or 0)

    def decode(self, row: Any) -> LoggedEvent:
        """One stored row as its published envelope (fast path, else the library's mapper)."""
        if self.fast:
            fast = _fast_decode(row)
            if fast is not None:
                return fast
        return self.decode_with_mapper(row)

    def decode_with_mapper(self, row: Any) -> LoggedEvent:
        """The reference decoding: eventsourcing's mapper builds the domain event (upcast)."""
        stored = StoredEvent(originator_id=row["originator_id"],
                             originator_version=row["originator_version"],
                             topic=row["topic"], state=bytes(row["state"]))
        event = self._mapper.to_domain_event(stored)
        position = row["notification_id"]
        model = _published_model(event)
        return LoggedEvent(position, _envelope(position, event, model), model)


def to_envelope(position: int, event: DomainEventProtocol[Any]) -> EventEnvelope:
    return _envelope(position, event, _published_model(event))


def _published_model(event: DomainEventProtocol[Any]) -> AccessEvent:
    return EVENT_TYPES[type(event).__name__].model_validate(_fields(event))


def _fields(event: DomainEventProtocol[Any]) -> dict[str, Any]:
    return {k: v for k, v in vars(event).items() if k not in _BASE_FIELDS}


def _envelope(position: int, event: DomainEventProtocol[Any], model: AccessEvent) -> EventEnvelope:
    name = type(event).__name__
    subject = _fields(event).get("group_id") if name.startswith("Group") else event.originator_id
    timestamp: datetime = getattr(event, "timestamp")  # noqa: B009 - not on the protocol
    return EventEnvelope(
        id=published_event_id(event.originator_id, event.originator_version),
        type=name,
        subject=str(subject),
        sequence=position,
        time=timestamp,
        actor=getattr(event, "actor", None),
        commandid=getattr(event, "command_id", None),
        data=model.model_dump(mode="json"),
    )


# --- fast path -------------------------------------------------------------------------
# The mapper decodes JSON with a Python object hook (a call per object, a UUID object per
# id), then the published model validates those objects and dumps them back to strings.
# That was most of a rebuild's time. The fast path parses with pydantic's JSON parser,
# turns the transcoder's wrappers into the strings the JSON dump would give, and lets
# pydantic validate the rest. Anything it does not know for certain (another wrapper
# type, an old class version to upcast) goes the mapper's way, and a test keeps both
# paths' output equal.


class _UnknownWrapperError(Exception):
    pass


def _unwrapped(wrapper: dict[str, Any]) -> Any:
    kind, value = wrapper.get("_type_"), wrapper.get("_data_")
    if len(wrapper) != 2 or not isinstance(value, str):
        return _unwrap_all(wrapper)
    if kind == "uuid_hex":  # as the mapper gives it: a UUID
        return _uuid_of_hex(value)
    if kind == "datetime_iso":  # as pydantic writes a datetime in JSON
        return value[:-6] + "Z" if value.endswith("+00:00") else value
    raise _UnknownWrapperError(kind)


def _unwrap_all(obj: dict[str, Any]) -> dict[str, Any]:
    """Replace the transcoder's `{"_type_", "_data_"}` wrappers, in place, at any depth."""
    for key, value in obj.items():
        if value.__class__ is dict:
            obj[key] = _unwrapped(value) if "_type_" in value else _unwrap_all(value)
        elif value.__class__ is list:
            _unwrap_list(value)
    return obj


def _unwrap_list(items: list[Any]) -> None:
    for i, value in enumerate(items):
        if value.__class__ is dict:
            items[i] = _unwrapped(value) if "_type_" in value else _unwrap_all(value)
        elif value.__class__ is list:
            _unwrap_list(value)


@dataclass(frozen=True)
class _Kind:
    name: str
    model: type[AccessEvent]
    class_version: int
    group_subject: bool


@lru_cache(maxsize=256)
def _kind(topic: str) -> _Kind | None:
    cls = resolve_topic(topic)
    model = EVENT_TYPES.get(cls.__name__)
    if model is None:
        return None
    name = cls.__name__
    return _Kind(name, model, int(getattr(cls, "class_version", 1)), name.startswith("Group"))


class StoredState(NamedTuple):
    """A stored event parsed without the library: its head and its `data`, not validated.

    `data` holds what the published event's JSON dump would, but ids as UUIDs (as the
    mapper gives them); times are as pydantic writes them, fields left at their defaults
    may be missing, and personal values are as stored: sealed unless the row was
    unsealed first.
    """

    model: type[AccessEvent]
    head: EventHead
    data: dict[str, Any]


def parse_stored(row: Any) -> StoredState | None:
    """The fast path's parse of one stored row; None when only the mapper can decode it."""
    kind = _kind(row["topic"])
    if kind is None:
        return None
    state: dict[str, Any] = from_json(row["state"])
    if state.pop("class_version", 1) != kind.class_version:  # needs upcasting
        return None
    stamp = state.pop("timestamp")
    if stamp.__class__ is not dict or stamp.get("_type_") != "datetime_iso":
        return None
    try:
        for key, value in state.items():  # the top level inline: most wrappers are there
            if value.__class__ is dict:
                hex_ = value.get("_data_") if value.get("_type_") == "uuid_hex" else None
                if hex_.__class__ is str and len(value) == 2:
                    state[key] = _uuid_of_hex(hex_)
                else:
                    state[key] = _unwrapped(value) if "_type_" in value else _unwrap_all(value)
            elif value.__class__ is list:
                _unwrap_list(value)
    except _UnknownWrapperError:
        return None
    actor = state.pop("actor", None)
    command_id = state.pop("command_id", None)
    for key in ("originator_topic", "originator_id", "originator_version"):
        state.pop(key, None)
    originator_id: UUID = row["originator_id"]
    subject = state.get("group_id") if kind.group_subject else originator_id
    position: int = row["notification_id"]
    head = EventHead(originator_id, row["originator_version"], kind.name, subject, position,
                     datetime.fromisoformat(stamp["_data_"]), actor, command_id)
    return StoredState(kind.model, head, state)


def _fast_decode(row: Any) -> LoggedEvent | None:
    parsed = parse_stored(row)
    if parsed is None:
        return None
    model = parsed.model.__pydantic_validator__.validate_python(parsed.data)  # = model_validate
    return LoggedEvent(parsed.head.sequence, event=model, head=parsed.head)


_EVENT_ID_PREFIX = EVENT_ID_NAMESPACE.bytes + b"event:"
_VERSION_5 = (0xF000 << 64, 5 << 76)  # the UUID's version nibble: mask, value
_VARIANT = (0xC000 << 48, 0x8000 << 48)  # the RFC 4122 variant bits: mask, value


def _event_id(originator_id: UUID, originator_version: int) -> UUID:
    """`published_event_id` (a uuid5), without the uuid module's slow generic path."""
    name = f"{originator_id}:{originator_version}".encode()
    digest = sha1(_EVENT_ID_PREFIX + name, usedforsecurity=False).digest()  # uuid5 is SHA-1
    value = int.from_bytes(digest[:16], "big")
    value = (value & ~_VERSION_5[0]) | _VERSION_5[1]
    return _uuid((value & ~_VARIANT[0]) | _VARIANT[1])


def _uuid_of_hex(value: str) -> UUID:
    """`UUID(hex=value)` for the transcoder's 32 hex digits (else not a wrapper we know)."""
    try:
        number = int(value, 16)
    except ValueError:
        raise _UnknownWrapperError(value) from None
    if len(value) != 32 or number < 0:
        raise _UnknownWrapperError(value)
    return _uuid(number)


def _uuid(value: int) -> UUID:
    """`UUID(int=value)` for a value known to be in range, without `__init__`'s checks."""
    made = object.__new__(UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", SafeUUID.unknown)
    return made
