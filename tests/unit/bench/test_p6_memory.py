"""P6's rows from the peaks sampled in each phase: the goal is judged on the run's highest
sample, wherever it came (it came in P2 and P8 on 7 Dec, when only P1 and P3 were read)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast
from uuid import uuid4

import pytest

from bench import p6_memory
from bench.core import Bench
from harness.processes import metrics
from services.access.domain.base import AccessAggregate
from services.access.metrics import AccessMetrics
from services.access.store.cache import AggregateCache

MIB = 1024


def _bench(cache: AggregateCache | None = None) -> Any:
    """A bench whose command side's /metrics page is what `AccessMetrics` renders."""
    page = metrics(asyncio.run(AccessMetrics(Projection(9), cache=cache).render()))
    return SimpleNamespace(plan=SimpleNamespace(reps=2), rows=[], details={}, say=print,
                           system=SimpleNamespace(access_metrics=lambda: page))


@dataclass
class Projection:
    position: int = 0


def _cache() -> AggregateCache:
    """Three aggregates of 2, 3 and 4 events kept; one found, two not."""
    cache = AggregateCache(capacity=1_000)
    states = [SimpleNamespace(id=uuid4(), version=version) for version in (2, 3, 4)]
    cache.keep(cast(list[AccessAggregate | None], states))
    cache.get(states[0].id)
    cache.get(uuid4())
    cache.get(uuid4())
    return cache


def test_the_goal_is_judged_on_the_highest_phase_not_on_p1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def floor(_imports: str) -> int:
        return 60 * MIB

    monkeypatch.setattr(p6_memory, "import_floor_kib", floor)
    cache = _cache()
    b = _bench(cache)
    during = {
        "P1": [{"access-service": 120 * MIB, "access-service.VmHWM": 121 * MIB},
               {"access-service": 130 * MIB}, {"access-service": 125 * MIB}],
        "P2": [{"access-service": 150 * MIB}],
        "P8": [{"access-service": 210 * MIB, "access-service.VmHWM": 212 * MIB}],
        "P3": [{"access-service": 190 * MIB}] * 3,
    }
    asyncio.run(p6_memory.run(cast(Bench, b), during))

    rows = {row.name: row for row in b.rows}
    assert set(rows) == {"access-service peak RSS during P1",
                         "access-service peak RSS in any phase"}
    p1 = rows["access-service peak RSS during P1"]
    assert (p1.values, p1.met) == ([120.0, 130.0, 125.0], True)
    assert p1.note == "VmHWM since start 121 MB"
    anywhere = rows["access-service peak RSS in any phase"]
    assert (anywhere.values, anywhere.met) == ([210.0], False)
    assert anywhere.baseline == [60.0, 60.0]
    assert anywhere.note.startswith("highest in P8 of 4 phases; VmHWM since start 212 MB")
    assert b.details["P6"]["access-service"] == {"P1": 130.0, "P2": 150.0, "P8": 210.0,
                                                 "P3": 190.0}
    assert b.details["P6"]["aggregate cache"] == {
        "states": 3.0, "events": 9.0, "bytes": float(cache.bytes),
        "hits_total": 1.0, "misses_total": 2.0}


def test_a_service_never_sampled_has_no_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    async def floor(_imports: str) -> int:
        raise AssertionError("no floor is needed for a service with no samples")

    monkeypatch.setattr(p6_memory, "import_floor_kib", floor)
    b = _bench()
    asyncio.run(p6_memory.run(cast(Bench, b), {"P1": [{}], "P2": [{"other": 1}]}))
    assert (b.rows, b.details) == ([], {})
