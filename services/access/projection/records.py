"""The log as the projection reads it: each event's head and `data`, and no more.

The relay publishes whole events, so `EventLog.read` unseals every personal value and
validates every event. The read models need less: the fold reads `data` field by field,
and of the personal values it keeps only a user's contact details, a personal group's
name, the invited address and a charge key's token and label. So this reader parses
stored rows without validating them, fills in the fields left at their defaults, and
unseals only those values; the others stay sealed and the fold never reads them (a test
folds every stored event type both ways and compares). Rows only the library's mapper
can decode (an old class version to upcast) are decoded that way, in full.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from charger_access_client.access_events import AccessEvent
from services.access.eventlog.fast import StoredState, parse_stored
from services.access.eventlog.reader import EventLog, decode
from services.access.eventlog.unsealing import BatchKeys, sealed_subject_hex, unsealed
from services.access.eventlog.values import EventHead, LoggedEvent
from services.access.projection.sql import Connection

KEPT_PERSONAL: dict[str, tuple[str, ...]] = {
    "UserRegistered": ("email", "phone", "name"),
    "GroupCreated": ("name",),
    "UserInvited": ("email",),
    "ChargeKeyAdded": ("id_token", "label"),
}
"""The personal values the read models keep, by event type: the only ones unsealed."""


class LogRecord(NamedTuple):
    """One published event for the fold: position, head and `data` (ids may be UUIDs)."""

    position: int
    head: EventHead
    data: dict[str, Any]


class ProjectionLog:
    """Reads the log in the projection's form (`LogRecord`s; `LoggedEvent`s where upcast)."""

    def __init__(self, log: EventLog | None = None) -> None:
        self._log = log or EventLog()

    async def read(self, conn: Connection, after: int, limit: int) -> list[LogRecord | LoggedEvent]:
        rows = await self._log.fetch_rows(conn, after, limit)
        parsed = [parse_stored(row) for row in rows]
        keys = await BatchKeys.fetch(conn, (
            subject
            for p in parsed if p is not None
            for field in KEPT_PERSONAL.get(p.head.type, ())
            if (subject := sealed_subject_hex(p.data.get(field))) is not None
        ))
        slow = [row for row, p in zip(rows, parsed, strict=True) if p is None]
        decoded = iter([decode(row) for row in await unsealed(conn, slow)])
        return [
            next(decoded) if p is None else LogRecord(p.head.sequence, p.head, _data(p, keys))
            for p in parsed
        ]


def _data(parsed: StoredState, keys: BatchKeys) -> dict[str, Any]:
    data: dict[str, Any] = {**_defaults(parsed.model), **parsed.data}
    for field in KEPT_PERSONAL.get(parsed.head.type, ()):
        value = data.get(field)
        if value.__class__ is str:
            data[field] = keys.open(value, field)
    return data


@lru_cache(maxsize=64)
def _defaults(model: type[AccessEvent]) -> dict[str, Any]:
    """The model's top-level defaults as the JSON dump gives them (all plain values here)."""
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in model.model_fields.items()
        if not field.is_required()
    }
