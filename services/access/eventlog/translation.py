"""The reference decoding: eventsourcing's mapper, then domain event -> published event.

The fast path (`fast.py`) leaves to this what it cannot decode for certain, above all an
event stored by an older class version, which only the library's upcasting turns into
today's shape. The mapper is a plain one over the store's own transcoder: rows reach it
already unsealed, so it needs none of the store's keys.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from charger_access_client.access_events import EVENT_TYPES
from charger_access_client.envelope import EventEnvelope
from services.access.domain.ids import published_event_id
from services.access.eventlog.values import LoggedEvent
from services.access.store.application import memory_store

_BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
                "actor", "command_id"}


def decode_with_mapper(row: Any) -> LoggedEvent:
    """One unsealed stored row as its published event, the library's way (upcast)."""
    stored = StoredEvent(originator_id=row["originator_id"],
                         originator_version=row["originator_version"],
                         topic=row["topic"], state=bytes(row["state"]))
    return published(row["notification_id"], _mapper().to_domain_event(stored))


def published(position: int, event: DomainEventProtocol[Any]) -> LoggedEvent:
    """A domain event at `position` in the log as it is published on `access.events`."""
    name = type(event).__name__
    fields = {k: v for k, v in vars(event).items() if k not in _BASE_FIELDS}
    model = EVENT_TYPES[name].model_validate(fields)
    subject = fields.get("group_id") if name.startswith("Group") else event.originator_id
    timestamp: datetime = getattr(event, "timestamp")  # noqa: B009 - not on the protocol
    envelope = EventEnvelope(
        id=published_event_id(event.originator_id, event.originator_version),
        type=name,
        subject=str(subject),
        sequence=position,
        time=timestamp,
        actor=getattr(event, "actor", None),
        commandid=getattr(event, "command_id", None),
        data=model.model_dump(mode="json"),
    )
    return LoggedEvent(position, envelope, model)


@cache
def _mapper() -> Mapper[UUID]:
    """A mapper with the store's transcodings (taken from an in-memory store, so they
    cannot drift from what the store writes) and nothing else: no keys, no cipher."""
    return Mapper(transcoder=memory_store().mapper.transcoder)
