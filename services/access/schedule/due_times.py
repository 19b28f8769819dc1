"""The shares' due times, earliest first: a heap with one live entry per share.

A share's due time moves at every fold that changes it, and most moves are later, so an
entry is not removed from the heap when its share moves or goes: a newer entry (or none)
stands for the share, and the old one is skipped when it surfaces. Superseded entries are
swept out once they outnumber the live ones, so a share folded over and over does not
grow the heap.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

Entry = tuple[datetime, int, K]
"""(due time, tie-breaker, key)"""

SWEEP_SLACK = 1024
"""Superseded entries tolerated beyond the live ones before a sweep."""


class DueTimes(Generic[K]):
    """Keys by due time; `put` a key's new time, `remove` it, `pop_due` those due."""

    def __init__(self) -> None:
        self._heap: list[Entry[K]] = []
        self._entry: dict[K, int] = {}
        """The heap entry (its tie-breaker) that stands for each key's current due time."""
        self._counter = itertools.count()

    def __len__(self) -> int:
        """Keys with a due time."""
        return len(self._entry)

    def put(self, key: K, due: datetime) -> None:
        n = next(self._counter)
        self._entry[key] = n
        heapq.heappush(self._heap, (due, n, key))
        if len(self._heap) > 2 * len(self._entry) + SWEEP_SLACK:
            self.keep(self.live())

    def remove(self, key: K) -> None:
        self._entry.pop(key, None)

    def next_due(self) -> datetime | None:
        """The earliest due time of any key (None: none has one)."""
        heap = self._heap
        while heap and self._entry.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: datetime) -> list[tuple[K, datetime]]:
        """The keys due at `now` and when each was due, earliest first; they leave."""
        due: list[tuple[K, datetime]] = []
        while (at := self.next_due()) is not None and at <= now:
            _at, _n, key = heapq.heappop(self._heap)
            del self._entry[key]
            due.append((key, at))
        return due

    def live(self) -> list[Entry[K]]:
        """The entries that stand for their key's due time, in no order."""
        return [e for e in self._heap if self._entry.get(e[2]) == e[1]]

    def keep(self, entries: Iterable[Entry[K]]) -> None:
        """Only these live entries (the others' keys are removed)."""
        kept = list(entries)
        self._entry = {key: n for _due, n, key in kept}
        heapq.heapify(kept)
        self._heap = kept
