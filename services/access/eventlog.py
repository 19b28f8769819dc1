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
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import get_topic

from events.access_events import EVENT_TYPES
from events.envelope import EventEnvelope
from services.access.domain.charger import Charger
from services.access.domain.group import Group
from services.access.domain.ids import published_event_id
from services.access.domain.invitation import Invitation
from services.access.domain.user import User
from services.access.store.application import EVENTS_TABLE, AccessStore
from services.access.store.personal_data import subjects_in, unseal_json

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection | PoolConnectionProxy[Any]

_BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
                "actor", "command_id"}


@dataclass(frozen=True)
class LoggedEvent:
    """One stored event, as it is published on `access.events`."""

    position: int
    envelope: EventEnvelope


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

    async def read(self, conn: Connection, after: int, limit: int) -> list[LoggedEvent]:
        rows = await conn.fetch(self._select, after, limit, PUBLISHED_TOPICS)
        return [self.decode(row) for row in await unsealed(conn, rows)]

    async def head(self, conn: Connection) -> int:
        """The highest position in the store (published or not)."""
        value = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}")  # noqa: S608
        return int(value)

    def decode(self, row: Any) -> LoggedEvent:
        stored = StoredEvent(originator_id=row["originator_id"],
                             originator_version=row["originator_version"],
                             topic=row["topic"], state=bytes(row["state"]))
        event = self._mapper.to_domain_event(stored)
        return LoggedEvent(row["notification_id"], to_envelope(row["notification_id"], event))


async def unsealed(conn: Connection, rows: list[Any]) -> list[Any]:
    """Rows with personal data unsealed (pseudonyms where the person was forgotten).

    Keys are looked up once per batch and never cached, so a forgotten person stops being
    readable by every follower of the log at once.
    """
    subjects = subjects_in(bytes(row["state"]) for row in rows)
    if not subjects:
        return rows
    found = await conn.fetch("SELECT subject, key FROM person_keys WHERE subject = ANY($1::uuid[])",
                             list(subjects))
    keys = {row["subject"]: bytes(row["key"]) for row in found}
    return [{**dict(row), "state": unseal_json(bytes(row["state"]), keys)} for row in rows]


def to_envelope(position: int, event: DomainEventProtocol[Any]) -> EventEnvelope:
    name = type(event).__name__
    fields: dict[str, Any] = {k: v for k, v in vars(event).items() if k not in _BASE_FIELDS}
    data = EVENT_TYPES[name].model_validate(fields).model_dump(mode="json")
    subject = fields.get("group_id") if name.startswith("Group") else event.originator_id
    timestamp: datetime = getattr(event, "timestamp")  # noqa: B009 - not on the protocol
    return EventEnvelope(
        id=published_event_id(event.originator_id, event.originator_version),
        type=name,
        subject=str(subject),
        sequence=position,
        time=timestamp,
        actor=getattr(event, "actor", None),
        commandid=getattr(event, "command_id", None),
        data=data,
    )
