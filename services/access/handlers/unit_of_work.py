"""Aggregates touched by one batch of commands, staged per command.

A batch is executed in memory and saved in one transaction (group commit). Each command
works on copies; only when it is accepted do its copies become the batch's state, so a
command rejected halfway leaves nothing behind for the next command in the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from services.access.domain.base import AccessAggregate
from services.access.domain.copying import copy_aggregate

__all__ = ["UnitOfWork", "copy_aggregate"]

A = TypeVar("A", bound=AccessAggregate)
Loader = Callable[[UUID], AccessAggregate | None]


class UnitOfWork:
    def __init__(self, load: Loader) -> None:
        self._load = load
        self._batch: dict[UUID, AccessAggregate | None] = {}
        self._staged: dict[UUID, AccessAggregate] = {}

    def _current(self, aggregate_id: UUID) -> AccessAggregate | None:
        staged = self._staged.get(aggregate_id)
        if staged is not None:
            return staged
        if aggregate_id not in self._batch:
            self._batch[aggregate_id] = self._load(aggregate_id)
        base = self._batch[aggregate_id]
        if base is None:
            return None
        working = copy_aggregate(base)
        self._staged[aggregate_id] = working
        return working

    def preload(self, found: dict[UUID, AccessAggregate | None]) -> None:
        """Seed the batch with aggregates (or their absence) fetched in one go."""
        for aggregate_id, aggregate in found.items():
            self._batch.setdefault(aggregate_id, aggregate)

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any aggregate, of any kind, has this id."""
        return self._current(aggregate_id) is not None

    def get(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate as this command sees it, or None if there is none of that kind."""
        found = self._current(aggregate_id)
        return found if isinstance(found, kind) else None

    def add(self, aggregate: AccessAggregate) -> None:
        self._staged[aggregate.id] = aggregate

    def accept(self) -> list[Any]:
        """Keep the command's changes and return its new events (each aggregate's in order)."""
        pending: list[Any] = []
        for aggregate in self._staged.values():
            pending.extend(aggregate.collect_events())
        for aggregate_id, aggregate in self._staged.items():
            self._batch[aggregate_id] = aggregate
        self._staged.clear()
        return pending

    def discard(self) -> None:
        self._staged.clear()

    def committed(self) -> list[AccessAggregate | None]:
        """Every aggregate of the batch as its accepted commands left it: what the store
        holds once the batch's events are committed."""
        return list(self._batch.values())
