"""P7 growth curves, P4 and P6 at a fleet's scale: the same reads on fleets of 100 k, 1 M
and 10 M events (`make bench-growth SIZES=100k,1m,10m`).

Each size is a fleet from the generator (`bench.fleet`, reproducible from its seed) in a
database of its own, kept between runs (`ca_growth_<size>_s<seed>`) because a 10 M fleet
takes long to write; `--reseed` writes it again. At each size: the read models are rebuilt
from the log (P4's rate at that size) when the fleet is new, its read models are behind,
or `--rebuild` asks (a fleet's projection is slow: docs/performance.md), the whole system
is started on the database, and one keep-alive client asks each read of PERFORMANCE.md's
P7 (check, list pages, access-at-T, timeline, local list) for ids sampled from the read
models, while the services' memory is sampled (P6). A read's figure is its p99; its growth
is the figure at a size over the figure at the smallest size of the same run, the baseline
the goal is judged against (<= 1.5x at the largest size). The curves are drawn with
matplotlib into `docs/growth.png` (`--plot`), beside the table in `var/bench/growth.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import matplotlib
import psycopg
from psycopg import sql

from bench.fleet import seed_fleet
from bench.http import Connection
from bench.stats import Row, Target, median, percentile, render_table, report_json
from bench.system import TOKEN, System, memory_kib
from bench.verdict import exit_code, judge
from harness.database import DEFAULT_ADMIN_URL, Database
from harness.sink_process import SinkProcess
from services.access.eventlog.reader import EventLog, pooled
from services.access.projection.apply import read_position
from services.access.projection.rebuild import rebuild
from services.access.projection.records import ProjectionLog

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

AUDIT_TOKEN = "bench-audit-token"  # noqa: S105 - a local, throwaway bearer token
GROWTH_LIMIT = 1.5
"""PERFORMANCE.md P7: value at the largest size <= 1.5x the value at the smallest."""
MEMORY_LIMIT_MB = 200.0
"""PERFORMANCE.md P6: each service <= 200 MB RSS (judged at the largest size)."""
PAGE = 50
"""Items per list page asked for."""


def parse_size(text: str) -> int:
    """'100k' -> 100 000, '1m' -> 1 000 000, '2500' -> 2 500."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def size_label(size: int) -> str:
    for scale, suffix in ((1_000_000, "M"), (1_000, "k")):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{suffix}"
    return str(size)


@dataclass
class Sample:
    """Ids to ask about, drawn from the read models of one fleet."""

    grants: list[tuple[str, str]] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    chargers: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    """Chargers with a local list."""
    moments: list[tuple[str, datetime]] = field(default_factory=list)
    """(charger, a moment after it was registered) for access-at-T."""


@dataclass
class SizeResult:
    size: int
    events: int
    seed_seconds: float | None
    rebuild_events_per_s: float
    p99_ms: dict[str, list[float]]
    rss_mb: dict[str, float]
    counts: dict[str, int]


# --- the fleet's database ----------------------------------------------------------------


def database_url(admin_url: str, name: str) -> str:
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def ensure_fleet(admin_url: str, size: int, seed: int, reseed: bool,
                 say: Callable[[str], None]) -> tuple[str, float | None]:
    """The URL of a database holding the fleet of `size` events from `seed`, and the
    seconds writing it took (None: it was there from an earlier run)."""
    name = f"ca_growth_{size_label(size).lower()}_s{seed}"
    url = database_url(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               (name,)).fetchone() is not None
        if exists and not reseed and _complete(url, size, seed):
            say(f"{size_label(size)}: reusing {name}")
            return url, None
        if exists:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    say(f"{size_label(size)}: writing a fleet of {size:,} events into {name} (seed {seed})")
    started = time.monotonic()
    seed_fleet(url, size, seed)
    seconds = time.monotonic() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_growth_seed (size bigint, seed bigint, seconds float)")
        conn.execute("INSERT INTO bench_growth_seed VALUES (%s, %s, %s)", (size, seed, seconds))
    return url, seconds


def _complete(url: str, size: int, seed: int) -> bool:
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT size, seed FROM bench_growth_seed").fetchone()
    except psycopg.Error:
        return False
    return row == (size, seed)


# --- sampling and asking ---------------------------------------------------------------------


async def sample(pool: asyncpg.Pool, n: int, rng: random.Random) -> Sample:
    """Ids spread over the whole fleet (random rows, not the first ones written)."""
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
    found.listed = [r[0] for r in await pool.fetch(
        "SELECT DISTINCT charger_id::text FROM read.local_list_versions LIMIT $1", n)]
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
    conn = Connection(base_url, token)
    latencies: list[float] = []
    try:
        for path in requests[:20]:
            await conn.get(path)
        for path in requests:
            started = time.perf_counter()
            response = await conn.get(path)
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}: {response.body[:200]!r}")
    finally:
        await conn.close()
    return latencies


# --- one size --------------------------------------------------------------------------------


async def rebuild_rate(url: str) -> tuple[int, float]:
    """P4 at this size: (events replayed, events/s) of a rebuild of the read models."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        replayed = [0]

        def progress(_position: int, count: int) -> None:
            replayed[0] = count

        started = time.monotonic()
        await rebuild(pool, pooled(pool, ProjectionLog()), progress=progress)
        seconds = time.monotonic() - started
    finally:
        await pool.close()
    return replayed[0], replayed[0] / seconds if seconds else 0.0


async def measure_reads(system: System, requests: int, reps: int,
                        rng: random.Random) -> tuple[dict[str, list[float]], dict[str, float],
                                                     dict[str, int]]:
    pool = await asyncpg.create_pool(system.database_url, min_size=1, max_size=2)
    try:
        s = await sample(pool, requests, rng)
        counts = {
            "grants": await pool.fetchval("SELECT count(*) FROM read.access"),
            "chargers": await pool.fetchval("SELECT count(*) FROM read.chargers"),
            "users": await pool.fetchval("SELECT count(*) FROM read.users"),
        }
    finally:
        await pool.close()
    asked = paths(s, requests)
    p99: dict[str, list[float]] = {name: [] for name in asked}
    rss: dict[str, float] = {}
    pids = system.service_pids()

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
    return p99, rss, counts


def start_system(var: Path, url: str) -> System:
    system = System(var, SinkProcess(), name="growth", token=TOKEN,
                    database=Database(url=url), ready_timeout=600.0, stop_timeout=40.0,
                    extra_env={"AUDIT_TOKENS": AUDIT_TOKEN})
    system.start()
    return system


async def log_size(url: str) -> int:
    """Events in the fleet's log, published or not (what the curves are drawn against)."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM chargeraccess_events"))
    finally:
        await conn.close()


async def projected_to_head(url: str) -> bool:
    """Whether the fleet's read models are there and have applied its whole log (kept
    from an earlier run: a fleet's projection takes long, see docs/performance.md)."""
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass('read.tracking')") is None:
            return False
        head = await EventLog().last_published(conn)  # internal events are not projected
        return bool(head) and await read_position(conn) >= head
    finally:
        await conn.close()


def run_size(size: int, seed: int, args: argparse.Namespace, rng: random.Random,
             say: Callable[[str], None]) -> SizeResult:
    url, seeded = ensure_fleet(args.admin_url, size, seed, args.reseed, say)
    if args.rebuild or seeded is not None or not asyncio.run(projected_to_head(url)):
        replayed, rate = asyncio.run(rebuild_rate(url))
        say(f"{size_label(size)}: rebuilt the read models from {replayed:,} published "
            f"events at {rate:,.0f}/s")
    else:
        rate = math.nan
        say(f"{size_label(size)}: read models kept from an earlier run (--rebuild measures P4)")
    events = asyncio.run(log_size(url))
    system = start_system(args.out / f"system-{size_label(size)}", url)
    try:
        p99, rss, counts = asyncio.run(measure_reads(system, args.requests, args.reps, rng))
    finally:
        system.stop()
    say(f"{size_label(size)}: " + ", ".join(f"{k} p99 {median(v):.2f} ms" for k, v in p99.items()))
    return SizeResult(size, events, seeded, rate, p99, rss, counts)


# --- the table and the plot ------------------------------------------------------------------


def rows_of(results: Sequence[SizeResult]) -> list[Row]:
    """One row per read and size: its p99 against the smallest size's (the goal is judged
    at the largest size only); P4's rate and P6's memory at each size."""
    smallest, largest = results[0], results[-1]
    rows: list[Row] = []
    for result in results:
        label = size_label(result.size)
        judged = result is largest and largest is not smallest
        for name, values in result.p99_ms.items():
            target = Target("ratio", "<=", GROWTH_LIMIT, f"at {size_label(smallest.size)}")
            rows.append(Row("P7", f"{name} p99 at {label}", "ms", values,
                            smallest.p99_ms[name], f"at {size_label(smallest.size)}", "lower",
                            target if judged else None, f"{result.events:,} events"))
        if not math.isnan(result.rebuild_events_per_s):  # read models kept: P4 not run
            rows.append(Row(
                "P4", f"rebuild at {label}", "events/s", [result.rebuild_events_per_s],
                [smallest.rebuild_events_per_s], f"at {size_label(smallest.size)}", "higher",
                Target("ratio", ">=", 0.9, f"at {size_label(smallest.size)}")
                if judged else None, f"{result.events:,} events"))
        for service, mb in sorted(result.rss_mb.items()):
            rows.append(Row("P6", f"{service} peak RSS at {label}", "MB", [mb], [], "", "lower",
                            Target("value", "<=", MEMORY_LIMIT_MB) if judged else None))
    return rows


def plot(results: Sequence[SizeResult], target: Path) -> None:
    """p99 of each read against the log's size, log-scaled, one line per read."""
    figure, axes = plt.subplots(figsize=(8, 5))
    sizes = [r.events for r in results]
    for name in results[0].p99_ms:
        axes.plot(sizes, [median(r.p99_ms[name]) for r in results], marker="o", label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("events in the log")
    axes.set_ylabel("p99 latency [ms], one keep-alive client")
    axes.set_title("charger-access reads as the fleet grows (P7)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=100)
    plt.close(figure)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument("--sizes", default="100k,1m", help="fleet sizes in events, smallest "
                        "first (e.g. 100k,1m,10m)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reseed", action="store_true", help="write the fleets again")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild kept read models too (P4 at each size)")
    parser.add_argument("--requests", type=int, default=500, help="requests per read and rep")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    parser.add_argument("--plot", type=Path, default=None, help="write the curves here "
                        "(e.g. docs/growth.png)")
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.sizes != sorted(args.sizes):
        parser.error("--sizes: smallest first")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        print(f"  growth | {line}", flush=True)

    rng = random.Random(args.seed)
    results = [run_size(size, args.seed, args, rng, say) for size in args.sizes]
    rows = rows_of(results)
    table = render_table(rows)
    print(table)
    verdict = judge(rows)
    for line in verdict.lines():
        print(f"  growth | {line}")
    meta = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "seed": args.seed,
            "sizes": [{"size": r.size, "events": r.events, "seed_seconds": r.seed_seconds,
                       "counts": r.counts} for r in results], "verdict": verdict.as_json()}
    (args.out / "growth.json").write_text(report_json(rows, meta))
    (args.out / "growth.md").write_text(table + "\n\n" + json.dumps(meta["sizes"]) + "\n")
    if args.plot is not None:
        plot(results, args.plot)
        say(f"curves drawn into {args.plot}")
    return exit_code(verdict, args.no_fail)


if __name__ == "__main__":
    raise SystemExit(main())
