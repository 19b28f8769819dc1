"""A write side on in-memory persistence (the write tests' Scenario) and its log as the
scheduler reads it: the share events, in store order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.access.eventlog.translation import published
from services.access.eventlog.values import LoggedEvent
from services.access.schedule.log import SHARE_TOPICS
from tests.unit.access.scenario import Scenario


def share_log(s: Scenario) -> Any:
    """`read_log(after, limit)` over the scenario's store, as `ShareLog` reads PostgreSQL."""

    async def read_log(after: int, limit: int) -> Sequence[LoggedEvent]:
        found = []
        for n in s.store.recorder.select_notifications(after + 1, 1_000_000):
            if n.topic in SHARE_TOPICS:
                found.append(published(n.id, s.store.mapper.to_domain_event(n)))
            if len(found) == limit:
                break
        return found

    return read_log


def all_share_events(s: Scenario) -> list[LoggedEvent]:
    return [published(n.id, s.store.mapper.to_domain_event(n))
            for n in s.store.recorder.select_notifications(1, 1_000_000)
            if n.topic in SHARE_TOPICS]


def update(s: Scenario, owner: UUID, guest: UUID, chargers: list[UUID], **window: Any) -> None:
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=chargers, **window)
