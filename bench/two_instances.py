"""Scaling (not a P1-P8 goal): two access-service instances in one consumer group on one
broker and one database, against one instance, in the same run; then the books.

`python -m bench.two_instances` starts the broker, a database and ONE access service
(no notifier: e-mail is not what is judged), runs P1's owner journeys (RegisterUser,
RegisterCharger, InviteUser, each awaited) at `--concurrency` in flight for `--seconds`,
starts a SECOND instance (same group, same database: the three command partitions are
shared between them), waits until both are assigned and runs the same load again. The
ratio of the two rates is the figure; the second phase runs on a store already holding
the first's events (biased against it, if anything).

Afterwards the books (`harness.books`): every command sent answered exactly once on
`access.command-results`, event ids unique in the log, no command's events committed
twice, `access-audit verify` OK, `access-rebuild --check` equal. Writes
`var/bench/two-instances.json`; exits 1 when the books do not balance.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import wait_until
from bench.kafka import Commands, Outcome, invite_user, register_charger, register_user
from bench.stats import percentile
from bench.system import TOKEN, System, bench_system
from charger_access_client import CommandResult
from harness.books import Books, audit_tools, caught_up, count_answers, count_store
from harness.processes import http_ok, http_text, metrics
from harness.signals import sigterm_unwinds


class CountingCommands(Commands):
    """The bench's command client, also counting every copy of every result it reads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.copies: Counter[str] = Counter()

    def _arrived(self, result: CommandResult) -> None:
        self.copies[result.command_id] += 1
        super()._arrived(result)


@dataclass
class Load:
    """What one phase's journeys did: commands answered before the deadline, their
    latencies and outcomes."""

    deadline: float
    completed: int = 0
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        if outcome.received_at <= self.deadline:
            self.completed += 1
            self.latencies.append(outcome.latency)
        self.outcomes[str(outcome.result.get("reason") or outcome.result.get("status"))] += 1


async def journeys(commands: Commands, load: Load, sent: list[str]) -> None:
    """One client's owner journeys until the deadline, each command awaited."""
    while time.monotonic() < load.deadline:
        user, charger, invitation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        for command in (register_user(user), register_charger(user, charger),
                        invite_user(user, charger, invitation)):
            outcome = await commands.run(*command)
            sent.append(str(outcome.result["command_id"]))
            load.add(outcome)
            if not outcome.accepted or time.monotonic() >= load.deadline:
                break


async def phase(commands: Commands, concurrency: int, seconds: float,
                sent: list[str]) -> Load:
    load = Load(time.monotonic() + seconds)
    await asyncio.gather(*(journeys(commands, load, sent) for _ in range(concurrency)))
    return load


def counted(api: str, series: str) -> float:
    """A counter of an instance's `/metrics`, summed over its labels: `access_commands_total`
    (commands its executor finished), `access_relay_published_total` (events its relay
    published)."""
    return sum(v for k, v in metrics(http_text(f"{api}/metrics", TOKEN)).items()
               if k.startswith(series))


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (/proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def snapshot(apis: list[str], pids: list[int | None]) -> list[tuple[float, float, float]]:
    return [(counted(api, "access_commands_total"), counted(api, "access_relay_published_total"),
             cpu_seconds(pid)) for api, pid in zip(apis, pids, strict=True)]


async def measure(system: System, concurrency: int, seconds: float,
                  warmup: float) -> dict[str, Any]:
    commands = CountingCommands(system.kafka, system.topics)
    await commands.start()
    sent: list[str] = []
    report: dict[str, Any] = {"concurrency": concurrency, "seconds": seconds}
    try:
        rates: dict[str, float] = {}
        apis = [system.api]
        pids = [system.access.pid if system.access else None]
        for instances in (1, 2):
            if instances == 2:
                second = await asyncio.to_thread(system.add_access)
                apis.append(system.api_of(second))
                pids.append(second.pid)
                # Both ready = both hold partitions; let the rebalance settle.
                if not await wait_until(lambda: all(http_ok(f"{a}/readyz") for a in apis), 60):
                    raise RuntimeError("the two instances did not both become ready")
                await asyncio.sleep(3)
            await phase(commands, concurrency, warmup, sent)
            broker = system.broker.process.pid if system.broker and system.broker.process else None
            before = snapshot(apis, pids)
            others = (cpu_seconds(broker), time.process_time())
            load = await phase(commands, concurrency, seconds, sent)
            after = snapshot(apis, pids)
            others = (cpu_seconds(broker) - others[0], time.process_time() - others[1])
            delta = [[round(a - b, 1) for a, b in zip(x, y, strict=True)]
                     for x, y in zip(after, before, strict=True)]
            rates[str(instances)] = load.completed / seconds
            report[f"instances_{instances}"] = {
                "cmd_per_s": round(load.completed / seconds, 1),
                "outcomes": dict(load.outcomes),
                "latency_ms": {"p50": round(percentile(load.latencies, 50) * 1000, 1),
                               "p99": round(percentile(load.latencies, 99) * 1000, 1)},
                "per_instance": [dict(zip(("commands", "events_published", "cpu_s"), d,
                                          strict=True)) for d in delta],
                "cpu_s_broker": round(others[0], 1), "cpu_s_bench_client": round(others[1], 1),
            }
            print(f"  two-instances | {instances} instance(s): {rates[str(instances)]:.0f} "
                  f"cmd/s over {seconds:.0f} s at {concurrency} in flight", flush=True)
        report["ratio_two_to_one"] = round(rates["2"] / rates["1"], 2) if rates["1"] else None
        report["books"] = (await balance(system, commands, sent)).as_json()
    finally:
        await commands.stop()
    return report


async def balance(system: System, commands: CountingCommands, sent: list[str]) -> Books:
    """Wait for the relay and projection to catch up (and any late result copy), then
    count."""
    conn = await system.connect()
    try:
        await wait_until(lambda: caught_up(conn), 60, 0.5)
        await asyncio.sleep(2)  # a duplicate result would come within the client's fetch
        books = Books()
        count_answers(books, sent, commands.copies)
        await count_store(books, conn)
    finally:
        await conn.close()
    await audit_tools(books, system.env)
    return books


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.two_instances", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    sigterm_unwinds()
    system = bench_system(out / "two-instances")
    system.supervised = False
    system.notifications = False
    try:
        system.start()
        report = asyncio.run(measure(system, args.concurrency, args.seconds, args.warmup))
    finally:
        system.stop()
    out.mkdir(parents=True, exist_ok=True)
    (out / "two-instances.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "books"}, indent=2))
    books = report["books"]
    print(f"books: {json.dumps({k: v for k, v in books.items() if k != 'details'})}")
    return 0 if books["balanced"] else 1


if __name__ == "__main__":
    sys.exit(main())
