"""The aggregate cache's own rules: bounded by the events its states have folded (least
recently used out first), a state changed in place never handed out again, and a change
in how many people are forgotten empties it."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID, uuid4

from services.access.domain.base import AccessAggregate
from services.access.store.cache import AggregateCache


class Fake:
    """Enough of an aggregate for the cache: an id and a version."""

    def __init__(self, version: int) -> None:
        self.id: UUID = uuid4()
        self.version = version


def kept(*states: Fake) -> list[AccessAggregate | None]:
    return [cast(AccessAggregate, state) for state in states]


def test_bounded_by_the_events_folded_least_recently_used_first() -> None:
    cache = AggregateCache(capacity=10)
    a, b, c = Fake(4), Fake(4), Fake(3)
    cache.keep(kept(a, b))
    assert cache.get(a.id) is a  # now b is the least recently used
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
    assert cache.get(old.id) is newer
    assert cache.weight == 5


def test_a_state_changed_in_place_is_never_handed_out_again() -> None:
    cache = AggregateCache()
    state = Fake(2)
    cache.keep(kept(state))
    state.version = 3  # a caller triggered an event on it: not a committed state
    assert cache.version(state.id) == 0
    assert cache.get(state.id) is None
    assert (len(cache), cache.weight) == (0, 0)


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
