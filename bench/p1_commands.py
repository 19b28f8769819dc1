"""P1: commands end to end (publish on Kafka → result on Kafka), sustained, against raw
asyncpg single-insert commits at the same concurrency.

`concurrency` clients each run owner journeys back to back — RegisterUser, then
RegisterCharger by that user, then InviteUser on that charger — waiting for each result
before the next command (the later commands depend on the earlier ones). The raw
baseline is as many connections, each committing one INSERT at a time.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from typing import Any

import asyncpg

from bench.core import Bench
from bench.kafka import Outcome, invite_user, register_charger, register_user
from bench.stats import Row, Target, percentile


class _Tally:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.completed = 0
        self.outcomes: Counter[str] = Counter()
        self.latencies: list[float] = []

    def add(self, outcome: Outcome) -> None:
        if outcome.received_at <= self.deadline:
            self.completed += 1
            self.latencies.append(outcome.latency)
        self.outcomes[str(outcome.result.get("reason") or outcome.result.get("status"))] += 1


async def _journeys(b: Bench, tally: _Tally) -> None:
    run = b.commands.run
    while time.monotonic() < tally.deadline:
        user, charger, invitation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        outcome = await run(*register_user(user))
        tally.add(outcome)
        if not outcome.accepted or time.monotonic() >= tally.deadline:
            continue
        outcome = await run(*register_charger(user, charger))
        tally.add(outcome)
        if not outcome.accepted:
            continue
        b.pairs.append((user, charger))
        if time.monotonic() >= tally.deadline:
            continue
        outcome = await run(*invite_user(user, charger, invitation))
        tally.add(outcome)
        if outcome.accepted:
            b.invites_accepted += 1


async def drive(b: Bench, seconds: float) -> _Tally:
    tally = _Tally(time.monotonic() + seconds)
    await asyncio.gather(*(_journeys(b, tally) for _ in range(b.plan.concurrency)))
    return tally


_RAW_TABLE = """
CREATE TABLE IF NOT EXISTS bench_raw_insert (
    id bigserial PRIMARY KEY, originator_id uuid NOT NULL, version int NOT NULL,
    topic text NOT NULL, state bytea NOT NULL)"""
_RAW_INSERT = ("INSERT INTO bench_raw_insert (originator_id, version, topic, state) "
               "VALUES ($1, $2, $3, $4)")


async def raw_inserts(dsn: str, connections: int, seconds: float) -> float:
    """Rows/s with `connections` connections each committing one INSERT at a time."""
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        await conns[0].execute(_RAW_TABLE)
        payload = os.urandom(300)
        deadline = time.monotonic() + seconds

        async def loop(conn: asyncpg.Connection) -> int:
            done = 0
            while time.monotonic() < deadline:
                await conn.execute(_RAW_INSERT, uuid.uuid4(), 1, "bench.Raw", payload)
                done += 1
            return done

        started = time.monotonic()
        counts = await asyncio.gather(*(loop(c) for c in conns))
        return sum(counts) / (time.monotonic() - started)
    finally:
        for conn in conns:
            await conn.close()


async def run(b: Bench) -> list[dict[str, int]]:
    """Adds the P1 row; returns each repetition's peak RSS per service (for P6)."""
    plan = b.plan
    b.say(f"P1 warm-up {plan.p1_warmup:.0f} s, then {plan.p1_seconds} s "
          f"at {plan.concurrency} commands in flight")
    await drive(b, plan.p1_warmup)
    values: list[float] = []
    memory: list[dict[str, int]] = []
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    for rep, seconds in enumerate(plan.p1_seconds[: plan.reps]):
        peaks: dict[str, int] = {}
        async with (b.peak_rss(peaks),
                    b.profiled("access-service", "p1-access-service", rep == 0),
                    b.profiled("notifications-service", "p1-notifications", rep == 0)):
            tally = await drive(b, seconds)
        values.append(tally.completed / seconds)
        memory.append(peaks)
        outcomes.update(tally.outcomes)
        latencies.extend(tally.latencies)
        b.say(f"P1 rep {rep + 1}: {values[-1]:.0f} cmd/s over {seconds:.0f} s")
    raw = []
    for _ in range(plan.reps):
        raw.append(await raw_inserts(b.system.database_url, plan.concurrency, plan.raw_seconds))
    b.say(f"P1 raw inserts: {', '.join(f'{v:.0f}' for v in raw)} rows/s")
    b.rows.append(Row(
        "P1", "commands end to end", "cmd/s", values, raw,
        f"asyncpg 1 INSERT/commit, {plan.concurrency} conns", "higher",
        Target("ratio", ">=", 0.5),
        note=f"{plan.concurrency} in flight; RegisterUser/RegisterCharger/InviteUser journeys",
    ))
    details: dict[str, Any] = {
        "seconds": list(plan.p1_seconds[: plan.reps]),
        "concurrency": plan.concurrency,
        "median_rate": sorted(values)[len(values) // 2],
        "outcomes": dict(outcomes),
        "latency_ms": {"p50": percentile(latencies, 50) * 1000,
                       "p99": percentile(latencies, 99) * 1000},
    }
    b.details["P1"] = details
    return memory
