"""P6, the boundary scheduler's part: its timetable folded from a fleet's log, alone in a
process, with the horizon (`SCHEDULE_HORIZON_HOURS`) and without one (every time-bound
share held, as before the horizon).

    python -m bench.timetable --database-url URL [--hours 24] [--now ISO]

Each fold runs in a fresh interpreter that has imported the same modules first, so the
figure is what the fold itself added: peak RSS (VmHWM) after the fold less RSS before it.
"Now" is the log's last event time unless given: the service started right after the
history was written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import asyncpg

from bench.system import memory_kib
from services.access.audit import store
from services.access.eventlog.reader import EventLog, pooled
from services.access.schedule.log import ShareLog
from services.access.schedule.shares import Timetable

NOTICE = timedelta(hours=24)
BATCH = 1000


async def fold(url: str, hours: float | None, now: datetime | None) -> dict[str, float]:
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        if now is None:
            now = await last_time(pool)
        until = None if hours is None or now is None else now + timedelta(hours=hours)
        before = memory_kib(os.getpid())["VmRSS"]
        timetable, read, started = Timetable(NOTICE, until), 0, time.perf_counter()
        log = pooled(pool, ShareLog())
        while True:
            events = await log(timetable.position, BATCH)
            timetable.fold(events)
            read += len(events)
            if len(events) < BATCH:
                break
        seconds = time.perf_counter() - started
        peak = memory_kib(os.getpid())["VmHWM"]
    return {"share_events": read, "held": len(timetable.shares), "seconds": seconds,
            "added_mb": (peak - before) / 1024}


async def last_time(pool: asyncpg.Pool) -> datetime | None:
    """The time of the log's last published event."""
    async with pool.acquire() as conn:
        head = await store.head(conn)
        events = await EventLog().read(conn, max(0, head - BATCH), BATCH)
    return max((e.head.time for e in events), default=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.timetable", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--hours", default="24", help="the horizon in hours ('all': none)")
    parser.add_argument("--now", default="", help="ISO time (default the log's last event's)")
    parser.add_argument("--fold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fold:  # one fold, in this fresh process: its figures as JSON
        found = asyncio.run(fold(args.database_url,
                                 None if args.hours == "all" else float(args.hours),
                                 datetime.fromisoformat(args.now) if args.now else None))
        print(json.dumps(found))
        return 0
    rows = []
    for hours in (args.hours, "all"):
        command = [sys.executable, "-m", "bench.timetable", "--fold", "--database-url",
                   args.database_url, "--hours", hours, "--now", args.now]
        out = subprocess.run(command, check=True, capture_output=True,  # noqa: S603 - ours
                             text=True).stdout
        found = json.loads(out.strip().splitlines()[-1])
        label = "every share (no horizon)" if hours == "all" else f"horizon {hours} h"
        rows.append(f"| {label} | {found['share_events']:,.0f} | {found['held']:,.0f} | "
                    f"{found['added_mb']:.0f} MB | {found['seconds']:.0f} s |")
    print("| timetable | share events folded | shares held | memory added (peak) | fold |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
