"""The index-backed auditors give the replay's answers, over random histories.

Through the domain, the real store and the projection on PostgreSQL: random commands
(the local lists' property test's actions: shares with and without windows, invitations,
members, moves, the transfers, forgetting, time passing with the scheduler's boundary
events), the projection catching up after some steps and not others (so batches, and the
segments the history's intervals are cut at, vary). Then, for every charger and user
(and an id never seen) at moments around each event's time and inside and across the
windows, access-at from the indexes equals the replay's answer, entry for entry and
in its JSON text; so does the review; and `rebuild --check` finds the indexes equal.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import uuid4

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from services.access.audit import indexed, service, store
from services.access.audit.coverage import IndexCoverage
from services.access.audit.rebuild_check import check_rebuild
from services.access.audit.replay import replay_until
from services.access.audit.review import review
from services.access.eventlog.reader import pooled
from services.access.projection.records import ProjectionLog
from services.access.projection.runner import ProjectionRunner
from tests.integration.access.local_lists.test_local_list_property import Action, actions, build
from tests.integration.access.time_bound import Writes

pytestmark = pytest.mark.integration

INDEX_TABLES = {"access_history", "log_positions", "id_positions"}
OFFSETS = (timedelta(microseconds=-1), timedelta(0), timedelta(minutes=55),
           timedelta(minutes=65), timedelta(minutes=190))
"""Around each event's time, and into the windows the actions give (50, 60, 150, 200 min)."""


async def moments(conn: asyncpg.Connection, since: datetime) -> list[datetime]:
    """Around the times of this example's events (earlier examples' were checked then)."""
    times = sorted({e.time async for e in store.published_events(conn) if e.time >= since})
    return sorted({t + d for t in times for d in OFFSETS} | {times[0] - timedelta(days=1)})


_clock: list[datetime] = []
"""The last example's clock: each example starts after it, so event times never go back
in store order (the indexes' premise; several instances' clocks are a matter of their own)."""


async def check_history(url: str, history: list[Action], catch_up: list[bool]) -> int:
    """Run the history, then compare; the number of (moment, id) answers compared."""
    w = Writes(url)
    if _clock:
        w.now = max(w.now, _clock[-1] + timedelta(seconds=1))
    start = w.now
    try:
        world = build(w)
        async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
            runner = ProjectionRunner(pool, pooled(pool, ProjectionLog()))
            for step, now in zip(history, catch_up, strict=True):
                world.act(step)
                if now:
                    await runner.catch_up()
            await runner.catch_up()
            _clock.append(w.now)
            compared = 0
            async with pool.acquire() as conn:
                ids: list[tuple[Literal["charger", "user"], str]] = [
                    *(("charger", str(c)) for c in world.chargers),
                    *(("user", str(u)) for u in world.users),
                    ("charger", str(uuid4())), ("user", str(uuid4())), ("user", "not-a-uuid")]
                for at in await moments(conn, start):
                    # the indexes answer this moment (service.access_at would replay if not)
                    assert await indexed.answer_at(conn, "read", *ids[0], at,
                                                   IndexCoverage()) is not None
                    state = await replay_until(store.published_events(conn), at)
                    for kind, id_ in ids:
                        replayed = service.answer_of(state, kind, id_)
                        answer = await service.access_at(conn, kind, id_, at, "read")
                        assert answer == replayed, (at, kind, id_)
                        assert json.dumps(answer.as_json()) == json.dumps(replayed.as_json())
                        compared += 1
                    charger = str(world.chargers[0])
                    assert await review(conn, charger, at) == await review(
                        conn, charger, at, replay=True), at
            report = await check_rebuild(pool)
            ours = [t for t in report.tables if t.table in INDEX_TABLES]
            assert {t.table for t in ours} == INDEX_TABLES
            assert all(t.equal for t in ours), [(t.table, t.only_live, t.only_rebuilt)
                                                for t in ours if not t.equal]
            return compared
    finally:
        w.store.close()


@st.composite
def histories(draw: Any) -> tuple[list[Action], list[bool]]:
    history = draw(st.lists(actions, min_size=3, max_size=12))
    return history, draw(st.lists(st.booleans(), min_size=len(history), max_size=len(history)))


@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=histories())
@example(case=([("grant", 1, 0, "starts-later", "charge"), ("time_passes", 70),
                ("add_member", 0, 1, "admin"), ("transfer_to_user", 0, 2, True),
                ("time_passes", 130), ("revoke", 1)], [True, False, False, True, False, True]))
@example(case=([("invite", 2, 1), ("grant", 2, 1, "ends", "manage"), ("move", 1, 1),
                ("add_member", 1, 2, "member"), ("forget", 2), ("remove_member", 1, 2),
                ("time_passes", 40)], [False] * 7))
def test_index_backed_access_at_equals_the_replay(
        read_database: str, case: tuple[list[Action], list[bool]]) -> None:
    history, catch_up = case
    assert asyncio.run(check_history(read_database, history, catch_up)) > 0
