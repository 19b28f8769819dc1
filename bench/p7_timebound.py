"""P7: `GET /v1/access/check` of time-bound shares against the permanent-share check on
the same table, same run, same request loops.

The table is P3's: 1 000 000 generated grants in `read.access` (loaded here when P3 did
not run). Every tenth of them (100 000) is then turned into a time-bound share the way the
live projection would: `AccessGranted` events with the window (`bench.p7_windows`) are
folded by the projection's own fold (`fold_logged`) and written by its own SQL
(`write_shares`, `recompute_access`) into `read.shares` and `read.access` — so each seeded
row has exactly the `why`, `standing_level` and `timebound` a projected one has. The
checks then use P3's loops (`http_latency`, `http_throughput`): one sample of keys hitting
permanent rows (the baseline), one hitting time-bound rows, alternating which goes first
from one repetition to the next. Goal: the time-bound check costs <= 1.5x the permanent
one, in throughput and in p99.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.core import Bench
from bench.http import Connection
from bench.p3_check import grant, http_latency, http_throughput, load_grants
from bench.p7_windows import (
    DISTINCT_SCHEDULES,
    is_scheduled,
    log_records,
    permanent_number,
    timebound_numbers,
)
from bench.stats import Row, Target, median, percentile, ratio
from bench.system import TOKEN
from services.access.api.moment import at_moment
from services.access.projection.changes import fold_logged
from services.access.projection.sql import DEFAULT_SCHEMA
from services.access.projection.tables.access import recompute_access
from services.access.projection.tables.shares import write_shares

GOAL = 1.5
"""A time-bound check may cost this many times the permanent one (PERFORMANCE.md P7)."""
CHUNK = 1_000
"""Grants folded and written per transaction while seeding, as a projection batch would
be: `recompute_access` grows with the square of the pairs one statement touches (its
`stale` DELETE's anti-join against the `fresh` CTE is a nested loop: 2 000 pairs took
1.1 s, 10 000 pairs ~40 s), so big chunks would make the seed take minutes."""
KEYS = 20_000
"""Keys sampled per kind, as P3 samples its own."""
FIRST = 2_000
"""Keys per kind for the first checks: rows not checked before in the run, so the API's
cache of each window's current span (`moment.effect`) has not seen the bounded ones."""

Key = tuple[uuid.UUID, uuid.UUID]


async def seed(b: Bench, grants: int) -> dict[str, Any]:
    """P3's grants (loaded unless P3 already did), a tenth of them made time-bound through
    the projection's fold and SQL; the seconds each step took."""
    details: dict[str, Any] = {}
    started = time.monotonic()
    p3 = b.details.get("P3", {})
    details["reused_p3_grants"] = (p3.get("grants") == grants
                                   and "P3" not in b.details.get("failed", {}))
    if not details["reused_p3_grants"]:
        b.say(f"P7 loading {grants:,} grants into read.access (P3's load)")
        details["load_rows_per_s"] = await load_grants(b, grants)
    details["load_seconds"] = time.monotonic() - started
    numbers = timebound_numbers(grants)
    b.say(f"P7 making {len(numbers):,} of them time-bound through the projection's fold + SQL")
    now = datetime.now(UTC)
    fold_seconds = write_seconds = 0.0
    for first in range(0, len(numbers), CHUNK):
        chunk = numbers[first:first + CHUNK]
        folding = time.monotonic()
        changes = fold_logged(log_records(((g, *grant(g)) for g in chunk), now, first + 1))
        writing = time.monotonic()
        async with b.pool.acquire() as conn, conn.transaction():
            await write_shares(conn, DEFAULT_SCHEMA, changes)
            await recompute_access(conn, DEFAULT_SCHEMA, changes)
        fold_seconds += writing - folding
        write_seconds += time.monotonic() - writing
    async with b.pool.acquire() as conn:
        await conn.execute("ANALYZE read.access", timeout=600)
        counts = await conn.fetchrow(
            "SELECT count(*) AS rows, count(*) FILTER (WHERE timebound) AS timebound "
            "FROM read.access")
    assert counts is not None  # an aggregate always has a row
    details.update(fold_seconds=fold_seconds, write_seconds=write_seconds,
                   seed_seconds=time.monotonic() - started, rows=counts["rows"],
                   timebound_rows=counts["timebound"], timebound_seeded=len(numbers),
                   scheduled=sum(1 for g in numbers if is_scheduled(g)),
                   distinct_schedules=DISTINCT_SCHEDULES)
    if counts["timebound"] < len(numbers):
        raise RuntimeError(f"only {counts['timebound']} time-bound rows after seeding "
                           f"{len(numbers)}")
    return details


async def check_answers(b: Bench, keys: list[Key]) -> int:
    """The API evaluates the seeded windows: each answer is what `at_moment` makes of the
    stored row at that moment (skipped when a window flips during the request)."""
    conn = Connection(b.system.api, TOKEN)
    compared = 0
    try:
        for user, charger in keys:
            stored = await b.pool.fetchval(
                "SELECT why FROM read.access WHERE user_id = $1 AND charger_id = $2",
                user, charger)
            why = json.loads(stored)
            if not any("valid_until" in r or "schedule" in r for r in why):
                raise RuntimeError(f"seeded row {user}/{charger} has no window: {why}")
            before = at_moment(why, datetime.now(UTC))
            answer = json.loads((await conn.get(
                f"/v1/access/check?user_id={user}&charger_id={charger}")).body)
            after = at_moment(why, datetime.now(UTC))
            if before != after:
                continue
            if (answer["level"], answer["allowed"]) != (before.level, before.level is not None):
                raise RuntimeError(f"check of a time-bound row answered {answer}, "
                                   f"expected level {before.level}")
            compared += 1
    finally:
        await conn.close()
    return compared


def _samples(grants: int, n: int, rng: random.Random) -> tuple[list[Key], list[Key]]:
    numbers = timebound_numbers(grants)
    permanent = grants - len(numbers)
    return ([grant(permanent_number(rng.randrange(permanent))) for _ in range(n)],
            [grant(rng.choice(numbers)) for _ in range(n)])


async def first_checks(b: Bench, permanent: list[Key], timebound: list[Key]) -> dict[str, Any]:
    """p50/p99 [ms] of checking rows for the first time in the run, one at a time."""
    figures: dict[str, Any] = {}
    for kind, keys in (("permanent", permanent), ("timebound", timebound)):
        latencies = await http_latency(b, keys, first_allowed=kind == "permanent")
        figures[kind] = {"p50": percentile(latencies, 50) * 1000,
                         "p99": percentile(latencies, 99) * 1000}
    figures["p99_ratio"] = ratio(figures["timebound"]["p99"], figures["permanent"]["p99"])
    return figures


def _slice(keys: list[Key], rep: int, n: int) -> list[Key]:
    batch = keys[rep * 997 % len(keys):][:n]
    return batch + keys[: n - len(batch)]


async def run(b: Bench) -> None:
    plan = b.plan
    details = await seed(b, plan.p3_grants)
    b.say(f"P7 seeded in {details['seed_seconds']:.0f} s (fold {details['fold_seconds']:.1f} s, "
          f"write {details['write_seconds']:.1f} s); {details['timebound_rows']:,} time-bound "
          f"rows of {details['rows']:,}")
    permanent, timebound = _samples(plan.p3_grants, KEYS + FIRST, random.Random(17))
    first = await first_checks(b, permanent[KEYS:], timebound[KEYS:])
    permanent, timebound = permanent[:KEYS], timebound[:KEYS]
    b.say("P7 first checks of their rows, p99: time-bound {:.3f} ms, permanent {:.3f} ms "
          "({:.2f}x)".format(first["timebound"]["p99"], first["permanent"]["p99"],
                             first["p99_ratio"]))
    details["first_checks"] = first
    details["answers_compared"] = await check_answers(b, timebound[:200])
    figures: dict[str, dict[str, list[float]]] = {
        kind: {"p50": [], "p99": [], "rps": []} for kind in ("permanent", "timebound")}
    for rep in range(plan.reps):
        kinds = [("permanent", permanent), ("timebound", timebound)]
        for kind, keys in kinds if rep % 2 == 0 else kinds[::-1]:
            latencies = await http_latency(b, _slice(keys, rep, plan.p3_latency_requests),
                                           first_allowed=kind == "permanent")
            profiled = kind == "timebound" and rep == 0
            async with b.profiled("access-service", "p7-access-service-timebound", profiled):
                rps = await http_throughput(b, keys, plan.p3_clients, plan.p3_seconds)
            into = figures[kind]
            into["p50"].append(percentile(latencies, 50) * 1000)
            into["p99"].append(percentile(latencies, 99) * 1000)
            into["rps"].append(rps)
            b.say(f"P7 rep {rep + 1} {kind}: p50 {into['p50'][-1]:.3f} ms, "
                  f"p99 {into['p99'][-1]:.3f} ms, {rps:.0f} checks/s")
    tb, pm = figures["timebound"], figures["permanent"]
    slowdown = {
        "throughput": ratio(median(pm["rps"]), median(tb["rps"])),
        "p99": ratio(median(tb["p99"]), median(pm["p99"])),
        "p50": ratio(median(tb["p50"]), median(pm["p50"])),
    }
    b.say("P7 time-bound / permanent: throughput costs {throughput:.2f}x, p99 {p99:.2f}x, "
          "p50 {p50:.2f}x (goal <= 1.5x)".format(**slowdown))
    note = (f"{details['rows']:,} grants, {details['timebound_rows']:,} time-bound "
            f"({details['scheduled']:,} scheduled in Europe/Oslo); same loops as P3")
    base = "permanent-share check"
    b.rows.append(Row("P7", "time-bound check, p50", "ms", tb["p50"], pm["p50"],
                      f"{base} p50", "lower", None, note))
    b.rows.append(Row("P7", "time-bound check, p99", "ms", tb["p99"], pm["p99"],
                      f"{base} p99", "lower", Target("ratio", "<=", GOAL, "permanent"), note))
    b.rows.append(Row("P7", f"time-bound checks/s, {plan.p3_clients} clients", "req/s",
                      tb["rps"], pm["rps"], f"{base}s/s", "higher",
                      Target("ratio", ">=", 1 / GOAL, "permanent"), note))
    details.update(slowdown=slowdown, figures=figures, keys_per_kind=KEYS)
    b.details["P7"] = details
