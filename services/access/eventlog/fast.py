"""Decoding stored rows without eventsourcing's mapper: the fast path of every reader.

The mapper decodes JSON with a Python object hook (a call per object, a UUID object per
id), then the published model validates those objects and dumps them back to strings.
That was most of a rebuild's time. The fast path parses with pydantic's JSON parser,
turns the transcoder's wrappers into the strings the JSON dump would give, and lets
pydantic validate the rest. Anything it does not know for certain (another wrapper type,
an old class version to upcast) is left to the mapper (`None`), and a test keeps both
paths' output equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.utils import resolve_topic
from pydantic_core import from_json

from charger_access_client.access_events import EVENT_TYPES, AccessEvent
from services.access.eventlog.values import EventHead, LoggedEvent, uuid_of_int


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


def decode_fast(row: Any) -> LoggedEvent | None:
    """One unsealed stored row as its published event; None when only the mapper can."""
    parsed = parse_stored(row)
    if parsed is None:
        return None
    model = parsed.model.__pydantic_validator__.validate_python(parsed.data)  # = model_validate
    return LoggedEvent(parsed.head.sequence, event=model, head=parsed.head)


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


def _uuid_of_hex(value: str) -> UUID:
    """`UUID(hex=value)` for the transcoder's 32 hex digits (else not a wrapper we know)."""
    try:
        number = int(value, 16)
    except ValueError:
        raise _UnknownWrapperError(value) from None
    if len(value) != 32 or number < 0:
        raise _UnknownWrapperError(value)
    return uuid_of_int(number)
