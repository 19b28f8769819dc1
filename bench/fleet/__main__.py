"""`python -m bench.fleet --size 1M --seed 7` (`make seed-fleet SIZE=1M SEED=7`).

Writes into DATABASE_URL when it is set (its store must hold no events yet), else into
a new database on the local server (BENCH_ADMIN_DATABASE_URL, else 127.0.0.1:5432),
which is kept: its URL is in the summary printed (JSON) on stdout. Progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from bench.fleet.generate import BATCH_SIZE, seed_fleet
from harness.database import admin_url_from

SUFFIXES = {"k": 1_000, "m": 1_000_000}


def events(text: str) -> int:
    """100000, 100k, 1M, 2.5M"""
    unit = SUFFIXES.get(text[-1:].lower(), 1)
    number = text[:-1] if unit > 1 else text
    return int(float(number) * unit)


def new_database(size: int, seed: int) -> str:
    admin = admin_url_from("BENCH_ADMIN_DATABASE_URL")
    name = f"ca_fleet_{size}_s{seed}_{int(time.time())}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{admin.rsplit('/', 1)[0]}/{name}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=events, default=events("100k"),
                        help="events to aim for: 100k, 1M, 10M (default 100k)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1,
                        help="processes writing fleets side by side (default 1: log order "
                             "reproducible too)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"commands per commit (default {BATCH_SIZE})")
    parser.add_argument("--ends-at", type=datetime.fromisoformat, default=None,
                        help="the history's end, ISO 8601 (default: midnight UTC today)")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or new_database(args.size, args.seed)
    ends_at = args.ends_at.replace(tzinfo=args.ends_at.tzinfo or UTC) if args.ends_at else None
    print(f"writing about {args.size} events (seed {args.seed}) into {url}", file=sys.stderr)

    def progress(written: int) -> None:
        print(f"  {written} events", file=sys.stderr, flush=True)

    summary = seed_fleet(url, args.size, args.seed, ends_at=ends_at,
                         batch_size=args.batch_size, workers=args.workers, progress=progress)
    print(f"{summary.events} events in {summary.seconds:.0f} s "
          f"({summary.events_per_second:.0f} events/s)", file=sys.stderr)
    print(json.dumps({"database_url": url, **summary.as_json()}, indent=2))


if __name__ == "__main__":
    main()
