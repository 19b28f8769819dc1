"""`make bench-growth`: each size's fleet, its reads, then the table, verdict and curves."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.growth.cluster import own_cluster
from bench.growth.fleets import (
    empty_share_book,
    ensure_fleet,
    log_size,
    parse_size,
    projected_to_head,
    rebuild_rate,
    size_label,
)
from bench.growth.reads import measure_reads, start_system
from bench.growth.report import SizeResult, plot, rows_of
from bench.growth.standby import HeldLead
from bench.stats import median, render_table, report_json
from bench.verdict import exit_code, judge
from harness.database import DEFAULT_ADMIN_URL
from harness.signals import sigterm_unwinds


def run_size(size: int, seed: int, args: argparse.Namespace, rng: random.Random,
             say: Callable[[str], None]) -> SizeResult:
    url, seeded = ensure_fleet(args.admin_url, size, seed, args.reseed, say, args.workers)
    if args.rebuild or seeded is not None or not asyncio.run(projected_to_head(url)):
        replayed, rate = asyncio.run(rebuild_rate(url))
        say(f"{size_label(size)}: rebuilt the read models from {replayed:,} published "
            f"events at {rate:,.0f}/s")
    else:
        rate = math.nan
        say(f"{size_label(size)}: read models kept from an earlier run (--rebuild measures P4)")
    events = asyncio.run(log_size(url))
    if asyncio.run(empty_share_book(url)):
        say(f"{size_label(size)}: the share book an earlier run left emptied (the scheduler "
            "folds the whole log, as on a fleet no system ran on)")
    prefix = f"growth-{uuid.uuid4().hex[:6]}"
    held = HeldLead(url, prefix) if args.standby_reads else None
    system = start_system(args.out / f"system-{size_label(size)}", url, prefix)
    try:
        p99, rss, counts, catch_up = asyncio.run(
            measure_reads(system, args.requests, args.reps, rng, held, args.catch_up_limit))
    finally:
        if held is not None:
            held.release()
        system.stop()
    say(f"{size_label(size)}: " + ", ".join(f"{k} p99 {median(v):.2f} ms" for k, v in p99.items()))
    say(f"{size_label(size)}: " + (f"caught up with the history in {catch_up.seconds:.0f} s"
        if catch_up.finished else f"still catching up after {catch_up.seconds:.0f} s"))
    return SizeResult(size, events, seeded, rate, p99, rss, counts, catch_up.seconds,
                      catch_up.rss_mb, catch_up.finished, standby=held is not None)



def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument("--sizes", default="100k,1m", help="fleet sizes in events, smallest "
                        "first (e.g. 100k,1m,10m)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reseed", action="store_true", help="write the fleets again")
    parser.add_argument("--workers", type=int, default=1, help="generator processes writing "
                        "a fleet side by side (2: both cores; same history, other log order)")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild kept read models too (P4 at each size)")
    parser.add_argument("--requests", type=int, default=500, help="requests per read and rep")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--own-cluster", type=Path, default=None, metavar="DIR",
                        help="instead of --admin-url, a PostgreSQL cluster of the bench's own "
                        "in DIR (made once, kept with its fleets), nothing else on it")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    parser.add_argument("--plot", type=Path, default=None, help="write the curves here "
                        "(e.g. docs/growth.png)")
    parser.add_argument("--standby-reads", action="store_true",
                        help="ask the reads of a standby access service (the bench holds "
                        "the lead), then let it lead and watch the catch-up")
    parser.add_argument("--catch-up-limit", type=float, default=3600.0,
                        help="seconds to watch the catch-up on the new broker at most")
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
    sigterm_unwinds()  # a killed run stops the system it started (its `finally`)

    def say(line: str) -> None:
        print(f"  growth | {line}", flush=True)

    rng = random.Random(args.seed)
    with own_cluster(args.own_cluster, args.out) as admin_url:
        if admin_url is not None:
            args.admin_url = admin_url
            say(f"on a cluster of its own in {args.own_cluster} ({admin_url})")
        results = [run_size(size, args.seed, args, rng, say) for size in args.sizes]
    rows = rows_of(results)
    table = render_table(rows)
    print(table)
    verdict = judge(rows)
    for line in verdict.lines():
        print(f"  growth | {line}")
    meta = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "seed": args.seed,
            "cluster": "own" if args.own_cluster is not None else "shared",
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
