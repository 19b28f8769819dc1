"""The aggregate cache's own rules: bounded by the events its states have folded and by
their pickled bytes (least recently used out first), each load handed a copy of its own (what a caller changes is not
what is kept), kept out of the garbage collector's walks, and a change in how many people
are forgotten empties it."""

from __future__ import annotations

import gc
import pickle
from typing import Any, cast
from uuid import UUID, uuid4

from services.access.domain.base import AccessAggregate
from services.access.store.cache import AggregateCache


class Fake:
    """Enough of an aggregate for the cache: an id and a version."""

    def __init__(self, version: int) -> None:
        self.id: UUID = uuid4()
        self.version = version
        self.shares: dict[UUID, set[UUID]] = {uuid4(): {uuid4()}}


def kept(*states: Fake) -> list[AccessAggregate | None]:
    return [cast(AccessAggregate, state) for state in states]


def test_bounded_by_the_events_folded_least_recently_used_first() -> None:
    cache = AggregateCache(capacity=10)
    a, b, c = Fake(4), Fake(4), Fake(3)
    cache.keep(kept(a, b))
    assert cache.get(a.id) is not None  # now b is the least recently used
    cache.keep(kept(c))  # 11 > 10: b goes
    assert cache.version(b.id) == 0
    assert (cache.version(a.id), cache.version(c.id), cache.weight) == (4, 3, 7)
    big = Fake(12)  # heavier than the whole budget: kept by nobody, not even itself
    cache.keep(kept(big))
    assert (len(cache), cache.weight) == (0, 0)


def test_keeping_a_newer_state_replaces_the_older_and_its_weight() -> None:
    cache = AggregateCache(capacity=100)
    old = Fake(3)
    newer = Fake(5)
    newer.id = old.id
    cache.keep(kept(old, newer))
    found: Any = cache.get(old.id)
    assert (found.version, found.shares) == (5, newer.shares)
    assert cache.weight == 5


def test_each_load_is_handed_a_copy_of_its_own() -> None:
    cache = AggregateCache()
    state = Fake(2)
    cache.keep(kept(state))
    state.version = 3  # what was kept is not the caller's object
    mine: Any = cache.get(state.id)
    assert mine is not state
    assert (mine.id, mine.version, mine.shares) == (state.id, 2, state.shares)
    mine.version = 4  # a command triggered an event on its copy
    next(iter(mine.shares.values())).add(uuid4())
    again: Any = cache.get(state.id)
    assert (again.version, again.shares) == (2, state.shares)
    assert cache.version(state.id) == 2


def test_what_is_kept_is_not_walked_by_the_garbage_collector() -> None:
    """A full collection walks every tracked object; the kept states are bytes."""
    cache = AggregateCache()
    states = [Fake(1) for _ in range(50)]
    cache.keep(kept(*states))
    del states
    gc.collect()
    assert not any(type(o) is Fake for o in gc.get_objects())
    assert len(cache) == 50


def test_a_new_forgetting_empties_it() -> None:
    cache = AggregateCache()
    assert cache.forgotten(2) is False  # the first count seen: nothing to compare
    cache.keep(kept(Fake(1), Fake(1)))
    assert cache.forgotten(2) is False
    assert len(cache) == 2
    assert cache.forgotten(3) is True
    assert (len(cache), cache.weight) == (0, 0)


def test_hits_and_misses_are_counted() -> None:
    cache = AggregateCache()
    state: Any = Fake(1)
    cache.keep(kept(state))
    cache.get(state.id)
    cache.get(uuid4())
    assert (cache.hits, cache.misses) == (1, 1)


def test_bounded_by_the_bytes_kept_too_least_recently_used_first() -> None:
    a, b, c = Fake(1), Fake(1), Fake(1)
    size = len(pickle.dumps(a, pickle.HIGHEST_PROTOCOL))
    cache = AggregateCache(capacity=1_000, max_bytes=2 * size + size // 2)  # room for two
    cache.keep(kept(a, b))
    assert cache.get(a.id) is not None  # now b is the least recently used
    cache.keep(kept(c))  # three states' bytes > the bound: b goes, though the events fit
    assert (cache.version(a.id), cache.version(b.id), cache.version(c.id)) == (1, 0, 1)
    assert cache.bytes == sum(len(pickle.dumps(x, pickle.HIGHEST_PROTOCOL)) for x in (a, c))
    cache.clear()
    assert (len(cache), cache.weight, cache.bytes) == (0, 0, 0)
