"""Aggregates kept between batches of commands, so a batch reads only the events stored
since it last saw each one, instead of decoding whole histories every time.

Why: a batch loads every aggregate its commands touch, and decoding is per event: a
driver with 1 000 shares in the 1 M fleet took 15 ms to load, a cost that grows with
history. (The peer of `make bench`, the eventsourcing library's own application, keeps
its repository's cache too.)

What keeps it right:
- it holds only committed states: the unit of work's aggregates as a commit left them,
  put after the commit returned, or states just decoded from the log;
- a load fast-forwards each kept aggregate from its version (what other instances stored
  since: the read asks only for later versions), so it is never behind the log;
- a person forgotten anywhere (the count of committed forgettings, read in the batch's
  round trip, moved) empties it before the next batch uses anything, as the key ring's
  keys are kept for one batch only: no plaintext of theirs outlives the batch that
  forgot them;
- states are handed out as they are, not copied: only a store whose loads go through a
  unit of work (which copies before a command changes anything) should have one, so the
  service gives one to the executor's store alone. Should a caller change one in place
  anyway (the scheduler's appending does, on its own store), its version moves (every
  change is an event), and a state whose version is not the one it was kept at is
  dropped, never handed out again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from services.access.domain.base import AccessAggregate

DEFAULT_CAPACITY = 100_000
"""How many events the aggregates kept may have folded between them (each weighs its
version; the least recently used go first). Memory follows events more than aggregates:
kept, the 1 M fleet's 20 000 most written-to aggregates (298 k events) took 64 MB more
than none, ~220 bytes an event, so the default holds ~20 MB; P1's aggregates (2 to 5
events each) fit 20 000 and more."""


class AggregateCache:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._kept: OrderedDict[UUID, tuple[AccessAggregate, int]] = OrderedDict()
        """Each state with the version it was kept at (its weight)."""
        self.weight = 0
        """The kept versions' sum: the events the kept states have folded."""
        self._forgotten: int | None = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._kept)

    def kept(self) -> dict[UUID, AccessAggregate]:
        """Every state kept, as it would be handed out (for checks)."""
        return {i: found for i in list(self._kept) if (found := self._intact(i)) is not None}

    def _intact(self, aggregate_id: UUID) -> AccessAggregate | None:
        entry = self._kept.get(aggregate_id)
        if entry is None:
            return None
        aggregate, version = entry
        if aggregate.version != version:  # changed in place since: not a committed state
            self._drop(aggregate_id)
            return None
        return aggregate

    def _drop(self, aggregate_id: UUID) -> None:
        _aggregate, version = self._kept.pop(aggregate_id)
        self.weight -= version

    def version(self, aggregate_id: UUID) -> int:
        """The version kept (0: none kept; the read then asks for every event)."""
        found = self._intact(aggregate_id)
        return 0 if found is None else int(found.version)

    def get(self, aggregate_id: UUID) -> AccessAggregate | None:
        found = self._intact(aggregate_id)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._kept.move_to_end(aggregate_id)
        return found

    def keep(self, aggregates: Iterable[AccessAggregate | None]) -> None:
        for aggregate in aggregates:
            if aggregate is None:
                continue
            if aggregate.id in self._kept:
                self._drop(aggregate.id)
            version = int(aggregate.version)
            self._kept[aggregate.id] = (aggregate, version)
            self.weight += version
        while self.weight > self._capacity and self._kept:
            self._drop(next(iter(self._kept)))

    def clear(self) -> None:
        self._kept.clear()
        self.weight = 0

    def forgotten(self, count: int) -> bool:
        """Note how many forgettings the store has committed; True when that changed
        since the last batch (everything kept was then dropped)."""
        changed = self._forgotten is not None and count != self._forgotten
        if changed:
            self.clear()
        self._forgotten = count
        return changed
