"""In-memory persistence with command results, for fast unit tests of the rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder

from services.access.ports import Forgetting, PendingResult
from services.access.store.personal.keyring import MemoryKeyRing


class MemoryResultRecorder(POPOApplicationRecorder):
    def __init__(self, keyring: MemoryKeyRing) -> None:
        super().__init__()
        self.results: dict[str, dict[str, Any]] = {}
        self.keyring = keyring

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        results: list[PendingResult] = kwargs.pop("command_results", None) or []
        forgetting: Forgetting | None = kwargs.pop("forgetting", None)
        if any(r.command_id in self.results for r in results):
            raise IntegrityError("command id already has a result")
        ids = list(super().insert_events(stored_events, **kwargs) or [])
        for result in results:
            self.results[result.command_id] = {**result.outcome, "position": result.position(ids)}
        if forgetting:
            self.keyring.forget(forgetting)
        return ids

    def select_batch(
        self, command_ids: Sequence[str], aggregate_ids: Sequence[UUID],
        after: Sequence[int] | None = None,
    ) -> tuple[dict[str, dict[str, Any]], dict[UUID, list[StoredEvent]], int | None]:
        return (self.select_results(command_ids), self.select_events_of(aggregate_ids, after),
                None if after is None else self.keyring.forgettings)

    def select_events_of(
        self, aggregate_ids: Sequence[UUID], after: Sequence[int] | None = None
    ) -> dict[UUID, list[StoredEvent]]:
        versions = after if after is not None else [0] * len(aggregate_ids)
        found = {i: list(self.select_events(i, gt=v or None))
                 for i, v in zip(aggregate_ids, versions, strict=True)}
        return {i: events for i, events in found.items() if events}

    def select_results(self, command_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {i: self.results[i] for i in command_ids if i in self.results}
