"""`/metrics` text: command outcomes by status and reason, positions and lags, escaping."""

from __future__ import annotations

import pickle
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import cast
from uuid import uuid4

import asyncpg

from services.access.domain.base import AccessAggregate
from services.access.metrics import AccessMetrics
from services.access.store.cache import AggregateCache


@dataclass
class Commands:
    outcomes: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    batches: int = 0


@dataclass
class Relay:
    position: int = 0
    published: int = 0


@dataclass
class Projection:
    position: int = 0


def samples(text: str) -> dict[str, str]:
    return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1]
            for line in text.splitlines() if line and not line.startswith("#")}


async def test_outcomes_positions_and_lags():
    commands = Commands(Counter({"accepted": 7, "forbidden": 2, "invalid": 1, "rejected": 1}), 3, 4)

    async def heads() -> tuple[int, int]:
        return 120, 118

    text = await AccessMetrics(Projection(100), store=heads, commands=commands, relay=Relay(110, 130)).render()

    assert samples(text) == {
        'access_commands_total{status="accepted",reason=""}': "7",
        'access_commands_total{status="rejected",reason="forbidden"}': "2",
        'access_commands_total{status="rejected",reason="invalid"}': "1",
        'access_commands_total{status="rejected",reason=""}': "1",
        "access_command_batches_total": "4",
        "access_commands_dead_lettered_total": "3",
        "access_projection_position": "100",
        "access_relay_position": "110",
        "access_relay_published_total": "130",
        "access_store_up": "1",
        "access_store_head_position": "120",
        "access_store_published_position": "118",
        "access_projection_lag_positions": "18",
        "access_relay_lag_positions": "8",
    }
    assert "# TYPE access_commands_total counter" in text
    assert "# TYPE access_projection_lag_positions gauge" in text
    assert text.endswith("\n")


async def test_a_standby_reports_none_of_the_leaders_figures():
    async def heads() -> tuple[int, int]:
        return 120, 118

    def render(leading: bool):
        return AccessMetrics(Projection(100), store=heads, relay=Relay(40, 0),
                             leading=lambda: leading).render()

    standby, leader = samples(await render(False)), samples(await render(True))

    assert standby["access_leading"] == "0"
    assert leader["access_leading"] == "1"
    assert leader["access_relay_lag_positions"] == "78"
    assert {k for k in standby if k.startswith("access_relay")} == set()
    assert standby["access_projection_lag_positions"] == "18"  # each instance projects


async def test_each_family_has_one_help_and_type_line():
    text = await AccessMetrics(Projection(5), commands=Commands(Counter({"accepted": 1, "expired": 2}))).render()
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(names) == len(set(names))
    assert [line.split()[2] for line in text.splitlines() if line.startswith("# HELP")] == names


async def test_an_unreachable_store_reads_as_down_not_as_an_error():
    async def broken() -> tuple[int, int]:
        raise asyncpg.InterfaceError("pool is closing")

    found = samples(await AccessMetrics(Projection(9), store=broken).render())
    assert found == {"access_projection_position": "9", "access_store_up": "0"}


async def test_a_caught_up_follower_has_no_lag_even_past_unpublished_events():
    async def heads() -> tuple[int, int]:
        return 50, 47  # 48-50: bookkeeping events nobody publishes

    found = samples(await AccessMetrics(Projection(47), store=heads, relay=Relay(47)).render())
    assert found["access_projection_lag_positions"] == "0"
    assert found["access_relay_lag_positions"] == "0"


async def test_label_values_are_escaped():
    text = await AccessMetrics(Projection(), commands=Commands(Counter({'we"ird\\\n': 1}))).render()
    assert 'reason="we\\"ird\\\\\\n"' in text


@dataclass
class Publisher:
    position: int = 0
    published: int = 0


async def test_local_lists_lag_and_published_count():
    async def newest() -> int:
        return 140

    found = samples(await AccessMetrics(Projection(150), local_lists=Publisher(125, 31),
                                        lists_head=newest).render())
    assert found == {"access_projection_position": "150",
                     "access_local_lists_published_total": "31",
                     "access_local_lists_lag_positions": "15"}


async def test_a_caught_up_publisher_has_no_lag():
    async def newest() -> int:
        return 0  # no list version yet; a rewound publisher also sits at 0

    found = samples(await AccessMetrics(Projection(3), local_lists=Publisher(0),
                                        lists_head=newest).render())
    assert found["access_local_lists_lag_positions"] == "0"


async def test_an_unreadable_list_head_leaves_only_the_lag_out():
    async def broken() -> int:
        raise asyncpg.InterfaceError("pool is closing")

    found = samples(await AccessMetrics(Projection(3), local_lists=Publisher(2, 4),
                                        lists_head=broken).render())
    assert found == {"access_projection_position": "3",
                     "access_local_lists_published_total": "4"}


async def test_the_aggregate_cache_reports_its_size_and_whether_it_pays():
    cache = AggregateCache(capacity=1_000)
    states = [SimpleNamespace(id=uuid4(), version=version) for version in (3, 4)]
    cache.keep(cast(list[AccessAggregate | None], states))
    cache.get(states[0].id)
    cache.get(uuid4())
    cache.get(uuid4())

    found = samples(await AccessMetrics(Projection(1), cache=cache).render())

    pickled = sum(len(pickle.dumps(s, pickle.HIGHEST_PROTOCOL)) for s in states)
    assert {k: v for k, v in found.items() if k.startswith("access_aggregate_cache")} == {
        "access_aggregate_cache_states": "2",
        "access_aggregate_cache_events": "7",
        "access_aggregate_cache_bytes": str(pickled),
        "access_aggregate_cache_hits_total": "1",
        "access_aggregate_cache_misses_total": "2",
    }
    assert "access_aggregate_cache" not in await AccessMetrics(Projection(1)).render()
