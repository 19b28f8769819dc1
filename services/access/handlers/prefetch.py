"""Which aggregates a batch of commands will probably touch, to load them in one query.

A guess from the commands' fields is enough: whatever it misses is loaded on demand, and
whatever it loads needlessly costs only bytes. One round trip per batch instead of one
per aggregate is most of the write side's speed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

from charger_access_client.commands import AddChargeKey, Command
from services.access.domain.ids import (
    charge_key_index_id,
    email_index_id,
    group_aggregate_id,
    phone_index_id,
    serial_index_id,
)


class Runnable(Protocol):
    @property
    def actor(self) -> UUID: ...

    @property
    def command(self) -> Command: ...


_DERIVED = {
    "email": email_index_id,
    "recipient_email": email_index_id,
    "phone": phone_index_id,
    "recipient_phone": phone_index_id,
    "serial_number": serial_index_id,
}


def likely_aggregates(items: Sequence[Runnable]) -> set[UUID]:
    ids: set[UUID] = set()
    for item in items:
        ids.add(item.actor)
        for name, value in vars(item.command).items():
            ids.update(_ids(name, value))
        if isinstance(item.command, AddChargeKey):  # its claim: derived from two fields
            ids.add(charge_key_index_id(item.command.type, item.command.id_token))
    return ids | {group_aggregate_id(i) for i in ids}


def _ids(name: str, value: Any) -> Iterable[UUID]:
    if isinstance(value, UUID):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, UUID))
    elif isinstance(value, str) and name in _DERIVED:
        yield _DERIVED[name](value)
