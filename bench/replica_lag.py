"""Scaling (not a P1-P8 goal): a hot-standby streaming replica behind a query API, under
command load: how far it lags, and what that costs read-your-writes.

`python -m bench.replica_lag` starts a primary and a replica (`harness.replica`: both
throwaway clusters from the local PostgreSQL binaries, ports of their own), the broker,
and two access-service instances in one group on the primary: the first's query API
reads the primary, the second's reads the replica (`QUERY_DATABASE_URL`). For
`--seconds` it drives P1's owner journeys at `--concurrency` in flight and meanwhile

- samples, every 50 ms, the replica's replay lag as the primary sees it
  (`pg_stat_replication`: WAL bytes behind, `replay_lag`) and the read-model positions
  behind (the primary's tracking row minus the replica's);
- probes read-your-writes (`PROBES` at once): a client registers a charger, then asks
  both APIs at once whether its owner may use it with `min_position` = the result's
  position, timing each answer from the result's arrival. The primary API is the
  baseline (same commands, same moment): the ratio is what reading from the replica
  adds (its replay, and the 5 ms poll of its tracking row). An answer that denies the
  owner after waiting for the position would break `min_position`: counted, must be 0.

Writes `var/bench/replica-lag.json`; exits 1 on a violation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.kafka import Commands, register_charger, register_user
from bench.stats import percentile
from bench.system import TOKEN, System
from bench.two_instances import phase
from harness.database import Database
from harness.replica import LAG_SQL, ReplicatedDatabase
from harness.signals import sigterm_unwinds
from harness.sink_process import SinkProcess
from services.access.projection.apply import read_position

SAMPLE_SECONDS = 0.05
PROBES = 4
"""Read-your-writes probes in flight besides the load (each its own owner and charger)."""


async def sample_lag(replicated: ReplicatedDatabase, until: float,
                     into: dict[str, list[float]]) -> None:
    primary = await replicated.connect_primary()
    replica = await replicated.connect_replica()
    try:
        while time.monotonic() < until:
            row = await primary.fetchrow(LAG_SQL)
            ahead = await read_position(primary)
            replayed = await read_position(replica)
            if row is not None:
                into["behind_bytes"].append(float(row["behind_bytes"] or 0))
                if row["replay_lag_s"] is not None:  # NULL: caught up and idle a while
                    into["replay_lag_ms"].append(float(row["replay_lag_s"]) * 1000)
            into["positions_behind"].append(float(max(0, ahead - replayed)))
            await asyncio.sleep(SAMPLE_SECONDS)
    finally:
        await primary.close()
        await replica.close()


async def answered_at(http: httpx.AsyncClient, url: str, params: dict[str, Any],
                      arrived: float) -> tuple[float, dict[str, Any], int]:
    response = await http.get(url, params=params)
    return time.monotonic() - arrived, response.json(), response.status_code


async def probe(commands: Commands, primary_api: str, replica_api: str, until: float,
                found: dict[str, Any]) -> None:
    """Register a charger, then ask both APIs at once with its result's position."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        while time.monotonic() < until:
            owner, charger = uuid.uuid4(), uuid.uuid4()
            if not (await commands.run(*register_user(owner))).accepted:
                found["statuses"]["user rejected"] += 1
                continue
            outcome = await commands.run(*register_charger(owner, charger))
            position = outcome.result.get("position")
            if not outcome.accepted or position is None:
                found["statuses"]["charger rejected"] += 1
                continue
            params = {"user_id": str(owner), "charger_id": str(charger), "level": "charge",
                      "min_position": str(position)}
            answers = await asyncio.gather(*(
                answered_at(http, f"{api}/v1/access/check", params, outcome.received_at)
                for api in (primary_api, replica_api)))
            for name, (seconds, body, status) in zip(("primary", "replica"), answers,
                                                     strict=True):
                found["statuses"][f"{name} {status}"] += 1
                if status == 200:
                    found[name].append(seconds)
                    if body.get("allowed") is not True or body.get("position", -1) < position:
                        found["violations"] += 1


def ms(values: list[float], scale: float = 1000.0) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(percentile(values, 50) * scale, 1),
            "p99": round(percentile(values, 99) * scale, 1),
            "max": round(max(values) * scale, 1)}


async def measure(system: System, replicated: ReplicatedDatabase, replica_api: str,
                  concurrency: int, seconds: float, warmup: float) -> dict[str, Any]:
    commands = Commands(system.kafka, system.topics)
    await commands.start()
    sent: list[str] = []
    try:
        await phase(commands, concurrency, warmup, sent)
        until = time.monotonic() + seconds
        lag: dict[str, list[float]] = {"behind_bytes": [], "replay_lag_ms": [],
                                       "positions_behind": []}
        found: dict[str, Any] = {"primary": [], "replica": [], "violations": 0,
                                 "statuses": Counter()}
        sampler = asyncio.create_task(sample_lag(replicated, until, lag))
        probers = [asyncio.create_task(probe(commands, system.api, replica_api, until, found))
                   for _ in range(PROBES)]
        load = await phase(commands, concurrency, seconds, sent)
        for task in (sampler, *probers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await commands.stop()
    primary, replica = ms(found["primary"]), ms(found["replica"])
    return {
        "concurrency": concurrency, "seconds": seconds,
        "cmd_per_s": round(load.completed / seconds, 1),
        "replay_lag_ms": ms(lag["replay_lag_ms"], 1.0),
        "samples": len(lag["behind_bytes"]),
        "behind_bytes": ms(lag["behind_bytes"], 1.0),
        "positions_behind": ms(lag["positions_behind"], 1.0),
        "read_your_writes_ms": {"primary_api": primary, "replica_api": replica},
        "replica_to_primary_p50": (round(float(replica["p50"]) / float(primary["p50"]), 2)
                                   if primary.get("p50") and replica.get("p50") else None),
        "min_position_violations": found["violations"],
        "statuses": dict(found["statuses"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replica_lag", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    var = out / "replica-lag"
    sigterm_unwinds()
    replicated = ReplicatedDatabase(var / "log", Database(prefix="ca_bench_replica",
                                                          own_cluster=True))
    system: System | None = None
    try:
        replicated.start()
        system = System(var, SinkProcess(), name="bench", token=TOKEN, supervised=False,
                        notifications=False, database=Database(url=replicated.url),
                        ready_timeout=150.0, stop_timeout=40.0)
        system.start()
        second = system.add_access(QUERY_DATABASE_URL=replicated.replica_url)
        report = asyncio.run(measure(system, replicated, system.api_of(second),
                                     args.concurrency, args.seconds, args.warmup))
    finally:
        if system is not None:
            system.stop()
        replicated.stop()
    out.mkdir(parents=True, exist_ok=True)
    (out / "replica-lag.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if report["min_position_violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
