"""Where a P7 read's time goes at each size: its statements in PostgreSQL, the service's
Python around them, and the shaping of its answer, timed in process on the kept fleets.

`make bench-growth` times the reads over HTTP; a p99 that grows with the log could be the
database (a bigger working set), the service (more Python per answer) or neither (one
noisy client). This calls the repositories the routes call, on a pool like the app's,
with asyncpg's query logger timing each statement, and then shapes the answer as the
route does (its pydantic model, dumped to JSON). The sizes take turns, repetition by
repetition, so the machine's state is shared between them.

    python -m bench.growth.profile --sizes 100k,10m

What is left of an HTTP p99 after this is the server: uvicorn, FastAPI's dispatch and
dependencies, the socket.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.connection import LoggedQuery

from bench.growth.fleets import database_url, parse_size, size_label
from bench.growth.reads import PAGE, Sample, sample
from bench.stats import median, percentile
from harness.database import DEFAULT_ADMIN_URL
from services.access.api.models import AccessAtAnswer, AuditTimeline, GroupChargers
from services.access.api.pagination import Page
from services.access.api.repositories.access import AccessRepository
from services.access.api.repositories.audit import AuditRepository
from services.access.api.repositories.groups import GroupRepository
from services.access.audit.timeline import Subject
from services.access.projection.sql import DEFAULT_SCHEMA
from services.common.pools import keep_session
from services.common.serving import freeze_startup_heap

READS = ("check", "group's chargers page", "access-at-T", "timeline")
"""The reads profiled: the three that grew past P7's goal at 10 M in the night run of 5
Dec, and the check as the one whose cost is known flat (a reference for the machine's
own drift)."""


@dataclass
class Timings:
    """One read at one size: per call, its total, its statements' sum and count, and its
    answer's shaping (s); per statement text, each execution's time."""

    total: list[float] = field(default_factory=list)
    statements: list[float] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    shaping: list[float] = field(default_factory=list)
    disk_read_bytes: int = 0
    """Read from the machine's disks while this read's calls ran (every process's: the
    machine should have nothing else running): pages the OS cache did not hold."""
    by_statement: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def summary(self) -> dict[str, Any]:
        python = [t - s for t, s in zip(self.total, self.statements, strict=True)]
        return {
            "calls": len(self.total),
            "total_ms": _p(self.total), "statements_ms": _p(self.statements),
            "python_ms": _p(python), "shaping_ms": _p(self.shaping),
            "statements_per_call": median([float(c) for c in self.count]),
            "disk_read_kb_per_call": self.disk_read_bytes / 1024 / max(1, len(self.total)),
            "by_statement": {k: {"n": len(v), **_p(v)} for k, v in sorted(
                self.by_statement.items(), key=lambda kv: -sum(kv[1]))},
        }


def _p(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"p50": float("nan"), "p99": float("nan")}
    return {"p50": percentile(seconds, 50) * 1000, "p99": percentile(seconds, 99) * 1000}


def label(query: str) -> str:
    """A statement's text in one short line: what it reads from."""
    text = re.sub(r"\s+", " ", query).strip()
    tables = re.findall(r'(?:FROM|JOIN) ([a-z_."]+)', text)
    names = dict.fromkeys(t.split(".")[-1].strip('"') for t in tables)
    return f"{text[:40]}... [{', '.join(names)}]"


class Recorder:
    """The statements each call ran: asyncpg reports them on the loop after they end."""

    def __init__(self) -> None:
        self.logged: list[LoggedQuery] = []

    def __call__(self, record: LoggedQuery) -> None:
        self.logged.append(record)

    async def drain(self) -> list[LoggedQuery]:
        await asyncio.sleep(0)  # the last statement's report is scheduled, not yet run
        logged, self.logged = self.logged, []
        return logged


@dataclass
class Fleet:
    name: str
    pool: asyncpg.Pool
    recorder: Recorder
    calls: dict[str, list[Callable[[], Awaitable[Callable[[], str]]]]]
    """Per read, one closure per request: it reads, and returns the answer's shaping."""
    timings: dict[str, Timings] = field(default_factory=lambda: defaultdict(Timings))


async def open_fleet(name: str, url: str, requests: int, rng: random.Random) -> Fleet:
    recorder = Recorder()

    async def logged(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(recorder)

    pool = await asyncpg.create_pool(url, min_size=2, max_size=2, init=logged,
                                     reset=keep_session)  # as the service's
    found = await sample(pool, requests, rng, lists=False)
    await recorder.drain()
    return Fleet(name, pool, recorder, requests_of(pool, found, requests))


def requests_of(pool: asyncpg.Pool, s: Sample, n: int
                ) -> dict[str, list[Callable[[], Awaitable[Callable[[], str]]]]]:
    """The calls the routes make for `bench.growth.reads.paths`' requests, in order."""
    access = AccessRepository(pool, DEFAULT_SCHEMA)
    groups = GroupRepository(pool, DEFAULT_SCHEMA)
    audit = AuditRepository(pool, DEFAULT_SCHEMA)

    def cycle(items: list[Any]) -> list[Any]:
        return [items[i % len(items)] for i in range(n)]

    def check(user: str, charger: str) -> Callable[[], Awaitable[Callable[[], str]]]:
        async def call() -> Callable[[], str]:
            found = await access.effective(UUID(user), UUID(charger))
            return lambda: json.dumps({"level": found.level, "why": found.why})
        return call

    def group_page(group: str) -> Callable[[], Awaitable[Callable[[], str]]]:
        async def call() -> Callable[[], str]:
            page = await groups.chargers(UUID(group), None, PAGE)
            assert page is not None
            return lambda: GroupChargers.model_validate(
                {"chargers": page.items, "next_cursor": page.next_cursor, "position": 0}
            ).model_dump_json()
        return call

    def access_at(charger: str, at: datetime) -> Callable[[], Awaitable[Callable[[], str]]]:
        async def call() -> Callable[[], str]:
            answer = await audit.access_at("charger", charger, at)
            return lambda: AccessAtAnswer.model_validate(answer.as_json()).model_dump_json(
                exclude_none=True)
        return call

    def timeline(charger: str) -> Callable[[], Awaitable[Callable[[], str]]]:
        async def call() -> Callable[[], str]:
            _, page = await audit.timeline(Subject("charger", charger), 0, PAGE)
            return lambda: _timeline_json(page)
        return call

    return {
        "check": [check(u, c) for u, c in cycle(s.grants)],
        "group's chargers page": [group_page(g) for g in cycle(s.groups)],
        "access-at-T": [access_at(c, t) for c, t in cycle(s.moments)],
        "timeline": [timeline(c) for c in cycle(s.chargers)],
    }


def _timeline_json(page: Page[Any]) -> str:
    return AuditTimeline.model_validate(
        {"events": [e.as_json() for e in page.items], "next_cursor": page.next_cursor,
         "position": 0}).model_dump_json()


def disk_read_bytes() -> int:
    """Bytes read from the machine's block devices since boot (`/proc/diskstats`' sectors
    read, 512 bytes each, of the whole disks, not their partitions or loop devices)."""
    disks = {d.name for d in Path("/sys/block").iterdir()
             if not d.name.startswith(("loop", "ram", "zram"))}
    total = 0
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if fields[2] in disks:
            total += int(fields[5]) * 512
    return total


async def run_read(fleet: Fleet, name: str, warm_up: int = 20) -> None:
    calls, timings = fleet.calls[name], fleet.timings[name]
    for call in calls[:warm_up]:
        (await call())()
    await fleet.recorder.drain()
    disk_before = disk_read_bytes()
    for call in calls:
        started = time.perf_counter()
        shape = await call()
        read = time.perf_counter() - started
        started = time.perf_counter()
        shape()
        timings.shaping.append(time.perf_counter() - started)
        logged = await fleet.recorder.drain()
        timings.total.append(read)
        timings.statements.append(sum(q.elapsed for q in logged))
        timings.count.append(len(logged))
        for q in logged:
            timings.by_statement[label(q.query)].append(q.elapsed)
    timings.disk_read_bytes += disk_read_bytes() - disk_before


async def profile(databases: dict[str, str], requests: int, reps: int, seed: int = 1
                  ) -> dict[str, dict[str, Any]]:
    """Per fleet (name → database URL, read models built), per read, `summary()`."""
    rng = random.Random(seed)
    fleets = [await open_fleet(name, url, requests, rng) for name, url in databases.items()]
    freeze_startup_heap()  # as a service does once started
    try:
        for rep in range(reps):
            for name in READS:
                for fleet in fleets if rep % 2 == 0 else fleets[::-1]:
                    await run_read(fleet, name)
    finally:
        gc.unfreeze()  # a caller's process (a test's) is left as it was
        for fleet in fleets:
            await fleet.pool.close()
    return {f.name: {n: f.timings[n].summary() for n in READS} for f in fleets}


def render(found: dict[str, dict[str, Any]]) -> str:
    lines = ["| read | size | total p50 / p99 | statements p50 / p99 (n) | Python p50 / p99 |"
             " shaping p99 | disk read / call |", "|---|---|---|---|---|---|---|"]
    for name in READS:
        for size, reads in found.items():
            r = reads[name]
            lines.append(
                f"| {name} | {size} | {r['total_ms']['p50']:.3f} / {r['total_ms']['p99']:.3f}"
                f" | {r['statements_ms']['p50']:.3f} / {r['statements_ms']['p99']:.3f}"
                f" ({r['statements_per_call']:.0f}) | {r['python_ms']['p50']:.3f} /"
                f" {r['python_ms']['p99']:.3f} | {r['shaping_ms']['p99']:.3f} |"
                f" {r['disk_read_kb_per_call']:.0f} KB |")
    lines.append("")
    for name in READS:
        for size, reads in found.items():
            lines.append(f"{name}, {size}: statements by their p99 sum (ms)")
            for text, t in list(reads[name]["by_statement"].items())[:5]:
                lines.append(f"    n={t['n']:<6} p50 {t['p50']:.3f}  p99 {t['p99']:.3f}  {text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.growth.profile",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,10m")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    databases = {size_label(size): database_url(
        args.admin_url, f"ca_growth_{size_label(size).lower()}_s{args.seed}")
        for size in (parse_size(s) for s in args.sizes.split(","))}
    found = asyncio.run(profile(databases, args.requests, args.reps, args.seed))
    print(render(found))
    if args.out is not None:
        args.out.write_text(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
