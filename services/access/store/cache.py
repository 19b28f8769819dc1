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
- states are kept pickled, not as objects: each load unpickles a private copy, so no
  caller can change what is kept, and the kept states are bytes, which the garbage
  collector never walks. As live objects (every `UUID` a tracked object) they made the
  command side's full collections walk hundreds of thousands of them, up to 168 ms each
  under load (docs/performance.md, "Full collections"); pickled, they also take about a
  quarter of the memory.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from services.access.domain.base import AccessAggregate

DEFAULT_CAPACITY = 100_000
"""How many events the aggregates kept may have folded between them (each weighs its
version; the least recently used go first). For long histories this bounds memory too:
the 1 M fleet's 3 000 most written-to aggregates (108 k events, ~36 each) take 5.4 MB
pickled, ~50 bytes an event (19.5 MB as objects). Pickling costs ~0.6 µs an event when
kept and ~1 µs when loaded, against ~27 µs an event to decode it from the log
(`bench.busy_aggregate`)."""

DEFAULT_BYTES = 16 * 1024 * 1024
"""And at most this many bytes of pickled states (`AGGREGATE_CACHE_MB`): the bound on
memory whatever the aggregates' sizes. A small aggregate (a few events) pickles to
~400-500 bytes, so 100 000 events of them came to ~30 MB pickled and ~80 MB of the
command side's RSS in `make bench`; with this bound its peak was 152 MB where it had been
189 (107 with no cache; docs/performance.md, 7 Dec). The 1 M fleet's busiest aggregates
above still fit three times over."""


class AggregateCache:
    def __init__(self, capacity: int = DEFAULT_CAPACITY, max_bytes: int = DEFAULT_BYTES) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._kept: OrderedDict[UUID, tuple[bytes, int]] = OrderedDict()
        """Each state, pickled, with the version it was kept at (its weight)."""
        self.weight = 0
        """The kept versions' sum: the events the kept states have folded."""
        self.bytes = 0
        """The kept states' pickled sizes' sum."""
        self._forgotten: int | None = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._kept)

    def kept(self) -> dict[UUID, AccessAggregate]:
        """Every state kept, as it would be handed out (for checks)."""
        return {i: _unpickled(state) for i, (state, _version) in self._kept.items()}

    def _drop(self, aggregate_id: UUID) -> None:
        state, version = self._kept.pop(aggregate_id)
        self.weight -= version
        self.bytes -= len(state)

    def version(self, aggregate_id: UUID) -> int:
        """The version kept (0: none kept; the read then asks for every event)."""
        entry = self._kept.get(aggregate_id)
        return 0 if entry is None else entry[1]

    def get(self, aggregate_id: UUID) -> AccessAggregate | None:
        """A copy of the state kept, the caller's own to change."""
        entry = self._kept.get(aggregate_id)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._kept.move_to_end(aggregate_id)
        return _unpickled(entry[0])

    def keep(self, aggregates: Iterable[AccessAggregate | None]) -> None:
        for aggregate in aggregates:
            if aggregate is None:
                continue
            if aggregate.id in self._kept:
                self._drop(aggregate.id)
            version = int(aggregate.version)
            state = pickle.dumps(aggregate, pickle.HIGHEST_PROTOCOL)
            self._kept[aggregate.id] = (state, version)
            self.weight += version
            self.bytes += len(state)
        while (self.weight > self._capacity or self.bytes > self._max_bytes) and self._kept:
            self._drop(next(iter(self._kept)))

    def clear(self) -> None:
        self._kept.clear()
        self.weight = 0
        self.bytes = 0

    def forgotten(self, count: int) -> bool:
        """Note how many forgettings the store has committed; True when that changed
        since the last batch (everything kept was then dropped)."""
        changed = self._forgotten is not None and count != self._forgotten
        if changed:
            self.clear()
        self._forgotten = count
        return changed


def _unpickled(state: bytes) -> AccessAggregate:
    aggregate: Any = pickle.loads(state)  # noqa: S301 - bytes this process pickled itself
    return aggregate  # type: ignore[no-any-return]
