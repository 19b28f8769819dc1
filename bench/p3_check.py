"""P3: `GET /v1/access/check` over HTTP with 1 000 000 grants in the read model. Latency
is shown against raw asyncpg point lookups of the same rows with the same query; the
throughput goal is against the HTTP floor (`bench.http_floor`: one route on the same
server software and settings doing the same primary-key lookup), in the same repetition.

The grants are generated inside PostgreSQL (one INSERT … SELECT over generate_series
into `read.access`, ids derived with md5 so the client can name them): 10 000 users with
100 chargers each. Latency is one client asking one request at a time; throughput is
`p3_clients` clients in parallel (HTTP keep-alive connections / asyncpg connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from bench.core import Bench
from bench.helper_process import helper
from bench.http import Connection, timed_gets
from bench.stats import Row, Target, percentile
from bench.system import TOKEN

PER_USER = 100

_LOAD = """
INSERT INTO read.access (user_id, charger_id, level, why)
SELECT md5('bench-u' || (g / {per_user}))::uuid,
       md5('bench-c' || g)::uuid,
       CASE WHEN g % 10 = 0 THEN 'manage' ELSE 'charge' END,
       jsonb_build_array(jsonb_build_object(
           'source', 'share', 'level', CASE WHEN g % 10 = 0 THEN 'manage' ELSE 'charge' END,
           'invitation_id', md5('bench-i' || g)::uuid))
FROM generate_series(0, $1 - 1) AS g"""
_CHECK = "SELECT level, why FROM read.access WHERE user_id = $1 AND charger_id = $2"


def _md5_uuid(text: str) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())  # noqa: S324 - ids, not security


def grant(g: int) -> tuple[uuid.UUID, uuid.UUID]:
    """The (user, charger) of generated grant number `g`, as the SQL above derives it."""
    return _md5_uuid(f"bench-u{g // PER_USER}"), _md5_uuid(f"bench-c{g}")


async def load_grants(b: Bench, count: int) -> float:
    """Insert `count` grants; rows/s."""
    started = time.monotonic()
    async with b.pool.acquire() as conn, conn.transaction():
        # Bulk load without index upkeep, then index once; one transaction, so the
        # projection (blocked on the table lock meanwhile) never sees the table unindexed.
        await conn.execute("LOCK TABLE read.access IN ACCESS EXCLUSIVE MODE")
        await conn.execute("ALTER TABLE read.access DROP CONSTRAINT access_pkey")
        await conn.execute("DROP INDEX read.access_charger")
        await conn.execute(_LOAD.format(per_user=PER_USER), count, timeout=600)
        await conn.execute("ALTER TABLE read.access ADD PRIMARY KEY (user_id, charger_id)",
                           timeout=600)
        await conn.execute("CREATE INDEX access_charger ON read.access (charger_id, user_id)",
                           timeout=600)
    async with b.pool.acquire() as conn:
        await conn.execute("ANALYZE read.access", timeout=600)
    return count / (time.monotonic() - started)


def _sample(count: int, n: int, rng: random.Random) -> list[tuple[uuid.UUID, uuid.UUID]]:
    return [grant(rng.randrange(count)) for _ in range(n)]


async def http_latency(b: Bench, keys: list[tuple[uuid.UUID, uuid.UUID]],
                       first_allowed: bool = True) -> list[float]:
    """One request at a time; with `first_allowed`, the first key's grant must allow."""
    paths = [f"/v1/access/check?user_id={u}&charger_id={c}" for u, c in keys]
    latencies, _ = await timed_gets(b.system.api, TOKEN, paths, warm_up=50)
    if first_allowed:
        conn = Connection(b.system.api, TOKEN)
        try:
            answer = json.loads((await conn.get(paths[0])).body)
        finally:
            await conn.close()
        if answer.get("allowed") is not True:
            raise RuntimeError(f"a generated grant is not allowed: {answer}")
    return latencies


async def http_throughput(b: Bench, keys: list[tuple[uuid.UUID, uuid.UUID]], clients: int,
                          seconds: float, base_url: str | None = None) -> float:
    """Checks/s of `clients` keep-alive clients against the API (or `base_url`)."""
    paths = [f"/v1/access/check?user_id={u}&charger_id={c}" for u, c in keys]
    deadline = time.monotonic() + seconds

    async def client(offset: int) -> int:
        conn = Connection(base_url or b.system.api, TOKEN)
        done = 0
        try:
            while time.monotonic() < deadline:
                response = await conn.get(paths[(offset + done * clients) % len(paths)])
                if response.status != 200:
                    raise RuntimeError(f"check answered {response.status}")
                done += 1
        finally:
            await conn.close()
        return done

    started = time.monotonic()
    counts = await asyncio.gather(*(client(i) for i in range(clients)))
    return sum(counts) / (time.monotonic() - started)


async def raw_latency(b: Bench, keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[float]:
    conn = await asyncpg.connect(b.system.database_url)
    latencies = []
    try:
        for user, charger in keys[:50]:
            await conn.fetchrow(_CHECK, user, charger)
        for user, charger in keys:
            started = time.perf_counter()
            await conn.fetchrow(_CHECK, user, charger)
            latencies.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return latencies


@contextlib.asynccontextmanager
async def http_floor(b: Bench) -> AsyncIterator[str]:
    """The HTTP floor's process, serving; its base URL."""
    port = free_port()
    async with helper("bench.http_floor", [b.system.database_url, str(port), TOKEN],
                      b.out / "system" / "http-floor.log"):
        yield f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run(b: Bench) -> list[dict[str, int]]:
    """Adds the P3 rows; returns each repetition's peak RSS per service (for P6)."""
    plan = b.plan
    b.say(f"P3 loading {plan.p3_grants:,} grants into read.access")
    load_rate = await load_grants(b, plan.p3_grants)
    b.say(f"P3 loaded at {load_rate:,.0f} rows/s")
    rng = random.Random(7)
    keys = _sample(plan.p3_grants, max(plan.p3_latency_requests, 20_000), rng)
    p50: list[float] = []
    p99: list[float] = []
    rps: list[float] = []
    floor_rps: list[float] = []
    memory: list[dict[str, int]] = []
    async with http_floor(b) as floor_url:
        await http_throughput(b, keys, plan.p3_clients, 0.5, floor_url)  # warm its pool up
        for rep in range(plan.reps):
            peaks: dict[str, int] = {}
            batch = keys[rep * 997 % len(keys):][: plan.p3_latency_requests]
            batch = batch + keys[: plan.p3_latency_requests - len(batch)]
            async with b.peak_rss(peaks):
                latencies = await http_latency(b, batch)
                async with b.profiled("access-service", "p3-access-service", rep == 0):
                    rps.append(await http_throughput(b, keys, plan.p3_clients,
                                                     plan.p3_seconds))
            floor_rps.append(await http_throughput(b, keys, plan.p3_clients, plan.p3_seconds,
                                                   floor_url))
            memory.append(peaks)
            p50.append(percentile(latencies, 50) * 1000)
            p99.append(percentile(latencies, 99) * 1000)
            b.say(f"P3 rep {rep + 1}: p50 {p50[-1]:.2f} ms, p99 {p99[-1]:.2f} ms, "
                  f"{rps[-1]:.0f} checks/s with {plan.p3_clients} clients; "
                  f"HTTP floor {floor_rps[-1]:.0f}/s")
    raw50: list[float] = []
    raw99: list[float] = []
    for rep in range(plan.reps):
        batch = keys[rep * 997 % len(keys):][: plan.p3_latency_requests]
        latencies = await raw_latency(b, batch)
        raw50.append(percentile(latencies, 50) * 1000)
        raw99.append(percentile(latencies, 99) * 1000)
    b.say(f"P3 raw lookups: p99 {raw99} ms")
    note = f"{plan.p3_grants:,} grants; latency: 1 client; throughput: {plan.p3_clients} clients"
    b.rows.append(Row("P3", "check over HTTP, p50", "ms", p50, raw50,
                      "asyncpg point lookup p50", "lower", None, note))
    b.rows.append(Row("P3", "check over HTTP, p99", "ms", p99, raw99,
                      "asyncpg point lookup p99", "lower", Target("value", "<=", 2.0), note))
    b.rows.append(Row("P3", f"checks/s, {plan.p3_clients} clients", "req/s", rps, floor_rps,
                      "HTTP floor: 1 uvicorn route, same lookup", "higher",
                      Target("ratio", ">=", 0.8, of="floor"), note))
    details: dict[str, Any] = {"grants": plan.p3_grants, "load_rows_per_s": load_rate}
    b.details["P3"] = details
    return memory
