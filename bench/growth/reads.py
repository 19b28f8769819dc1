"""The reads P7 judges, asked of a running system for ids sampled from a fleet's read
models, with the services' memory sampled meanwhile (P6)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.growth.rest import CatchUp, caught_up, republished, wait_at_rest
from bench.growth.standby import HeldLead
from bench.http import timed_gets
from bench.stats import percentile
from bench.system import TOKEN, System, memory_kib
from harness.database import Database
from harness.sink_process import SinkProcess

AUDIT_TOKEN = "bench-audit-token"  # noqa: S105 - a local, throwaway bearer token
PAGE = 50
"""Items per list page asked for."""
LIST_LENGTHS = (5, 20)
"""The local lists asked for hold this many entries, at every size: a list's cost follows
its length, so lists of any length would compare a fleet's long lists with another's
short ones; what P7 asks is whether a list of the same length costs more in a bigger
history."""


@dataclass
class Sample:
    """Ids to ask about, drawn from the read models of one fleet."""

    grants: list[tuple[str, str]] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    chargers: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    """Chargers with a local list of `LIST_LENGTHS` entries."""
    moments: list[tuple[str, datetime]] = field(default_factory=list)
    """(charger, a moment after it was registered) for access-at-T."""



async def sample(pool: asyncpg.Pool, n: int, rng: random.Random, *,
                 lists: bool = True) -> Sample:
    """Ids spread over the whole fleet (random rows, not the first ones written);
    without `lists`, no chargers with local lists are looked for."""
    found = Sample()
    rows = await pool.fetch("SELECT user_id::text, charger_id::text FROM read.access "
                            "TABLESAMPLE SYSTEM (5) LIMIT $1", n * 4)
    if len(rows) < n:
        rows = await pool.fetch("SELECT user_id::text, charger_id::text FROM read.access "
                                "ORDER BY random() LIMIT $1", n)
    picked = rng.sample(list(rows), min(n, len(rows)))
    found.grants = [(r[0], r[1]) for r in picked]
    found.users = [r[0] for r in picked]
    found.chargers = [r[1] for r in picked]
    found.groups = [r[0] for r in await pool.fetch(
        "SELECT group_id::text FROM read.chargers GROUP BY group_id "
        "ORDER BY count(*) DESC LIMIT 20")]
    found.listed = [] if not lists else [r[0] for r in await pool.fetch(
        "SELECT charger_id::text FROM read.local_list_entries WHERE removed_in IS NULL"
        " GROUP BY charger_id HAVING count(*) BETWEEN $2 AND $3 ORDER BY random() LIMIT $1",
        n, *LIST_LENGTHS)]
    if lists and not found.listed:
        raise RuntimeError(f"no charger's local list holds {LIST_LENGTHS} entries")
    # access-at-T: a moment in each sampled charger's own life (before it, a 404).
    lives = await pool.fetch(
        "SELECT i.id, min(l.time) AS born, (SELECT max(time) FROM read.log_positions) AS last"
        " FROM read.id_positions i JOIN read.log_positions l ON l.position = i.position"
        " WHERE i.id = ANY($1::text[]) GROUP BY i.id", found.chargers)
    if not lives:
        raise RuntimeError("the fleet's chargers have no positions: was the log indexed?")
    born = {r["id"]: (r["born"], r["last"]) for r in lives}
    found.moments = []
    for charger in found.chargers:
        if charger in born:
            first, last = born[charger]
            moment = first + timedelta(seconds=rng.uniform(0, (last - first).total_seconds()))
            found.moments.append((charger, moment))
    return found


def paths(s: Sample, n: int) -> dict[str, list[str]]:
    """The requests of each read, `n` of each (ids repeat when the sample is smaller)."""

    def cycle(items: Sequence[Any]) -> list[Any]:
        return [items[i % len(items)] for i in range(n)] if items else []

    at = [(c, t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")) for c, t in s.moments]
    return {
        "check": [f"/v1/access/check?user_id={u}&charger_id={c}" for u, c in cycle(s.grants)],
        "user's chargers page": [f"/v1/users/{u}/chargers?limit={PAGE}" for u in cycle(s.users)],
        "charger's users page": [f"/v1/chargers/{c}/users?limit={PAGE}"
                                 for c in cycle(s.chargers)],
        "group's chargers page": [f"/v1/groups/{g}/chargers?limit={PAGE}"
                                  for g in cycle(s.groups)],
        "access-at-T": [f"/v1/audit/access-at?charger_id={c}&at={t}" for c, t in cycle(at)],
        "timeline": [f"/v1/audit/timeline?charger_id={c}&limit={PAGE}"
                     for c in cycle(s.chargers)],
        "local list": [f"/v1/chargers/{c}/local-list/2.0.1" for c in cycle(s.listed)],
    }


AUDITED = ("access-at-T", "timeline")


async def ask(base_url: str, token: str, requests: list[str]) -> list[float]:
    """One keep-alive client, one request at a time after a warm-up; latencies (s). A
    status other than 200 is an error: a read that fails has no figure."""
    latencies, _ = await timed_gets(base_url, token, requests, warm_up=20)
    return latencies



async def measure_reads(system: System, requests: int, reps: int, rng: random.Random,
                        held: HeldLead | None = None, catch_up_limit: float = 3600
                        ) -> tuple[dict[str, list[float]], dict[str, float],
                                   dict[str, int], CatchUp]:
    """The reads' p99s, each service's peak RSS while they were asked, the fleet's counts,
    and the catch-up on the new broker (`rest.caught_up`): before the reads, or, with
    the lead `held` by the bench, after them, once it is let go."""
    pool = await asyncpg.create_pool(system.database_url, min_size=1, max_size=2)
    try:
        s = await sample(pool, requests, rng)
        counts = {
            "grants": await pool.fetchval("SELECT count(*) FROM read.access"),
            "chargers": await pool.fetchval("SELECT count(*) FROM read.chargers"),
            "users": await pool.fetchval("SELECT count(*) FROM read.users"),
        }
        # On its new broker the leader publishes every event and list version again.
        expected = await republished(pool)
    finally:
        await pool.close()
    asked = paths(s, requests)
    p99: dict[str, list[float]] = {name: [] for name in asked}
    rss: dict[str, float] = {}
    pids = system.service_pids()
    if held is None:
        catch_up = await caught_up(system, pids, expected, catch_up_limit)
    else:
        await wait_at_rest(system.commands_api, TOKEN, pids, leader=False)  # idleness only

    async def sampled(block: Awaitable[None]) -> None:
        async def watch() -> None:
            while True:
                for name, pid in pids.items():
                    rss[name] = max(rss.get(name, 0.0), memory_kib(pid).get("VmRSS", 0) / 1024)
                await asyncio.sleep(0.2)

        watcher = asyncio.create_task(watch())
        try:
            await block
        finally:
            watcher.cancel()

    async def every_read() -> None:
        names = list(asked)
        for rep in range(reps):
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                token = AUDIT_TOKEN if name in AUDITED else TOKEN
                latencies = await ask(system.api, token, asked[name])
                p99[name].append(percentile(latencies, 99) * 1000)

    await sampled(every_read())
    if held is not None:
        held.release()
        catch_up = await caught_up(system, pids, expected, catch_up_limit)
    return p99, rss, counts, catch_up


def start_system(var: Path, url: str, prefix: str) -> System:
    """The whole system on the fleet's database; `prefix`: its consumer groups' (and so
    its lead's) name, known before it starts so the bench can hold the lead."""
    system = System(var, SinkProcess(), name="growth", token=TOKEN,
                    database=Database(url=url), ready_timeout=600.0, stop_timeout=40.0,
                    extra_env={"AUDIT_TOKENS": AUDIT_TOKEN, "CONSUMER_GROUP_PREFIX": prefix})
    system.start()
    return system
