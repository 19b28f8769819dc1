"""`make bench`: the real system on this machine against the raw limits of this machine.

Starts everything `make run` starts (on a fresh database, a broker and an SMTP sink of
its own), runs P1-P8 with a baseline for each in the same run, prints the table,
writes var/bench/latest.json (+ latest.md), stops everything and drops the database.
`--quick` shortens every measure (to try it out; the figures are not the benchmark's).
`--profile` also samples the hot paths with py-spy into var/bench/profile-*.txt.
`--only p7` (or `p1,p3`) runs only those measures, and the ones they need (see `select`).
`--p4-database URL` rebuilds (and reads) the log of that database in P4 instead of the
benchmark's own: a seeded fleet, to measure P4 at that log's size.
Exits 1 when a goal of PERFORMANCE.md is missed (see `bench.verdict`); `--no-fail` exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import (
    p1_commands,
    p2_freshness,
    p3_check,
    p4_rebuild,
    p5_email,
    p6_memory,
    p7_local_lists,
    p7_timebound,
    p8_gateway,
    p8_local_lists,
)
from bench.core import Bench, Plan
from bench.kafka import Commands
from bench.profile import summarise
from bench.selection import MEASURES, select
from bench.stats import render_table, report_json
from bench.system import System, bench_system
from bench.verdict import exit_code, judge
from harness.signals import sigterm_unwinds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, for trying it out")
    parser.add_argument("--profile", action="store_true", help="py-spy the hot paths")
    parser.add_argument("--only", default="", metavar="P1,P7",
                        help=f"only these measures (of {', '.join(MEASURES)}; any case)")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    parser.add_argument("--p4-database", default=None, metavar="URL",
                        help="P4 on this database's log (e.g. a seeded fleet)")
    parser.add_argument("--no-fail", action="store_true",
                        help="exit 0 even when a goal is missed (to explore)")
    args = parser.parse_args(argv)
    try:
        args.measures = select(args.only)
    except ValueError as error:
        parser.error(str(error))
    return args


async def measure(system: System, plan: Plan, out: Path, profile: bool,
                  measures: tuple[str, ...] = MEASURES) -> Bench:
    commands = Commands(system.kafka, system.topics)
    await commands.start()
    pool = await asyncpg.create_pool(system.database_url, min_size=1, max_size=4)
    b = Bench(plan, system, commands, pool, out, profile)
    memory: dict[str, list[dict[str, int]]] = {}
    """Each phase's peak RSS per service, for P6: P1's and P3's by repetition (they
    sample their own), every other phase's over the whole phase."""

    async def p1() -> list[dict[str, int]]:
        peaks = await p1_commands.run(b)
        commands.forget_pending()
        # The invitations of P1 are e-mailed now: let that finish before timing freshness.
        b.details["P1"]["emails"] = await p5_email.drain(b)
        return peaks

    # P7 (time-bound checks, then local lists) reuses P3's table, so it runs before P4's
    # rebuild swaps the read models. P6 comes last, to report every phase before it.
    phases: list[tuple[str, str, Callable[[], Awaitable[object]]]] = [
        ("P1", "P1", p1), ("P2", "P2", lambda: p2_freshness.run(b)),
        ("P8", "P8", lambda: p8_local_lists.run(b)), ("P3", "P3", lambda: p3_check.run(b)),
        ("P7", "P7 time-bound", lambda: p7_timebound.run(b)),
        ("P7", "P7 local lists", lambda: p7_local_lists.run(b)),
        ("P4", "P4", lambda: p4_rebuild.run(b)),
        ("P5", "P5", lambda: p5_email.run(b)),
        ("P8", "P8 gateway", lambda: p8_gateway.run(b)),
        ("P6", "P6", lambda: p6_memory.run(b, memory)),
    ]
    try:
        for name, label, phase in phases:
            if name not in measures:
                continue
            whole: dict[str, int] = {}
            try:
                async with b.peak_rss(whole):
                    by_repetition = await phase()
                memory[label] = by_repetition if isinstance(by_repetition, list) else [whole]
            except Exception as error:
                traceback.print_exc()
                b.say(f"{label} failed: {error!r}; going on with the next measure")
                b.details.setdefault("failed", {})[label] = repr(error)
            commands.forget_pending()
    finally:
        await pool.close()
        await commands.stop()
    return b


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    plan = replace(Plan.quick() if args.quick else Plan(), p4_database_url=args.p4_database)
    sigterm_unwinds()
    started = time.monotonic()
    system = bench_system(out / "system")
    print(f"  bench | starting the system (logs in {system.log_dir})", flush=True)
    try:
        system.start()
        print(f"  bench | up in {time.monotonic() - started:.0f} s: API {system.api}, "
              f"broker {system.kafka}, SMTP {system.sink.url}",
              flush=True)
        b = asyncio.run(measure(system, plan, out, args.profile, args.measures))
    finally:
        print("  bench | stopping the system and dropping its database", flush=True)
        system.stop()
    rows = sorted(b.rows, key=lambda r: r.key)
    meta: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "measures": list(args.measures),
        "seconds": round(time.monotonic() - started, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        # A database URL may hold a password: the report only says whether one was given.
        "plan": {**plan.__dict__, "p4_database_url": plan.p4_database_url is not None},
        "details": b.details,
    }
    verdict = judge(rows, b.details.get("failed", {}))
    meta["verdict"] = verdict.as_json()
    table = render_table(rows)
    (out / "latest.json").write_text(report_json(rows, meta) + "\n")
    (out / "latest.md").write_text(table + "\n")
    print()
    print(table)
    print(f"\n{len(rows)} rows in {meta['seconds']:.0f} s; JSON in {out / 'latest.json'}")
    for name, error in b.details.get("failed", {}).items():
        print(f"{name} FAILED: {error} (see above; its rows are missing)")
    if args.profile:
        summaries = [summarise(Path(p)) for p in b.details.get("profiles", {}).values()
                     if Path(p).exists()]
        (out / "profile-summary.txt").write_text("\n".join(summaries))
        print(f"profiles summarised in {out / 'profile-summary.txt'}")
    for line in verdict.lines():
        print(line)
    code = exit_code(verdict, args.no_fail)
    if verdict.met:
        print("every goal measured in this run was met")
    else:
        print(f"{len(verdict.lines())} goal(s) not met; exit {code}"
              + (" (--no-fail)" if args.no_fail else " (--no-fail to explore)"))
    return code


if __name__ == "__main__":
    sys.exit(main())
