"""The command path's event store for a generator that is the log's only writer.

The service loads every aggregate a batch touches from the log (all its events, decoded
and unsealed) because other instances may have written since. A generator writing a
fresh store alone knows better: what it committed is what is there. So aggregates stay
in memory between batches, brought up to date by applying each committed event, and
only those never seen are loaded (from the real store, as the service would). The
writing is the real store's: mapper, sealing with the person keys, recorder, hash
chain, command results. Keys are still looked up per batch, as the service does, so
forgetting reads exactly as it does there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from services.access.domain.base import AccessAggregate
from services.access.ports import Forgetting, PendingResult
from services.access.store.application import AccessStore


class SoleWriterStore:
    """`EventStore` (services/access/ports.py) over an `AccessStore` nobody else writes."""

    def __init__(self, store: AccessStore) -> None:
        self._store = store
        self.committed = 0
        """Events committed through this store."""
        self._known: dict[UUID, AccessAggregate | None] = {}
        """Every aggregate id asked for so far: its state, or None (none yet: with one
        writer, still none unless it made one)."""

    def load_batch(
        self, command_ids: Sequence[str], aggregate_ids: Iterable[UUID]
    ) -> tuple[dict[str, dict[str, Any]], dict[UUID, AccessAggregate | None]]:
        wanted = set(aggregate_ids)
        unknown = [i for i in wanted if i not in self._known]
        # The real store's batch start: command results seen, the unknown aggregates, and
        # (in the same round trip) the person keys of those ids.
        seen, found = self._store.load_batch(command_ids, unknown)
        self._known.update(found)
        # The known ones' keys too: the mapper seals their personal data with them.
        self._store.keyring.lookup(wanted.difference(unknown))
        return seen, {i: self._known.get(i) for i in wanted}

    def load(self, aggregate_id: UUID) -> AccessAggregate | None:
        if aggregate_id not in self._known:
            self._known[aggregate_id] = self._store.load(aggregate_id)
        return self._known[aggregate_id]

    def commit(
        self, events: Sequence[Any], results: Sequence[PendingResult], forgetting: Forgetting,
        aggregates: Iterable[AccessAggregate | None] = (),
    ) -> list[int]:
        positions = self._store.commit(events, results, forgetting)
        self.committed += len(events)
        for event in events:
            # The executor's unit of work changed copies; the committed events bring the
            # kept states up to date (a created event makes the aggregate).
            current = self._known.get(event.originator_id)
            self._known[event.originator_id] = event.mutate(current)
        return positions

    def get(self, aggregate_id: UUID) -> AccessAggregate | None:
        """An aggregate as committed (for what only a committed state tells, e.g. the salt
        of an invitation's token)."""
        return self.load(aggregate_id)

    def clear(self) -> None:
        """Drop every kept state (memory); what is loaded later is read from the log."""
        self._known.clear()

    def __len__(self) -> int:
        return sum(1 for state in self._known.values() if state is not None)
