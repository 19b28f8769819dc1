"""(3) SIGTERM under load: each service drains and stops gracefully, is started again,
and nothing is lost or doubled. The access service runs as `make run` and compose run it,
its command side and its read side (`ACCESS_ROLE`), and each of the two is stopped in
turn. Reports the drain time and the redeliveries each shutdown caused (results
published again, events re-published, e-mails deduped)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import recovery, say, with_system
from faults.system import System
from faults.traffic import Load, Traffic

SHUTDOWNS = 3  # of each service
RATE = 40.0


def _copies(traffic: Traffic) -> tuple[int, int]:
    results = sum(len(v) - 1 for v in traffic.wire.results.values())
    events = sum(len(v) - 1 for v in traffic.wire.events.values())
    return results, events


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    access, reads, notifier = system.access, system.more_access[0], system.notifier
    assert access is not None
    assert notifier is not None
    names = {id(access): "access-service", id(reads): "access-queries",
             id(notifier): "notifications-service"}
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=150, stop=stop))
    moments: list[float] = []
    drains: dict[str, list[float]] = {name: [] for name in names.values()}
    per_shutdown: list[dict[str, object]] = []
    try:
        await asyncio.sleep(3.0)
        for n in range(SHUTDOWNS):
            for service in (access, reads, notifier):
                await asyncio.sleep(2.0)
                await asyncio.sleep(1.0)  # let the wire settle before counting
                before = _copies(traffic)
                deduped = 0
                if service is notifier:
                    found = await asyncio.to_thread(system.notifier_metrics)
                    deduped = int(found.get("notifications_duplicates_total", 0))
                drained = await asyncio.to_thread(service.terminate)
                code = service.exit_codes[-1] if service.exit_codes else None
                if service is access:
                    moments.append(time.time())
                took = await asyncio.to_thread(service.start)
                await asyncio.sleep(3.0)
                after = _copies(traffic)
                name = names[id(service)]
                per_shutdown.append({"service": name, "drain_s": round(drained, 2),
                                     "exit_code": code, "results_again": after[0] - before[0],
                                     "events_again": after[1] - before[1]})
                figures.redeliveries += deduped
                drains[name].append(drained)
                say(figures.scenario, f"SIGTERM {name} #{n + 1}: drained in "
                                      f"{drained:.1f} s (exit {code}), up again in {took:.1f} s")
    finally:
        stop.set()
        await loader
    figures.faults = len(per_shutdown)
    figures.details["shutdowns"] = per_shutdown
    figures.details["max_drain_s"] = {k: max(v, default=0.0) for k, v in drains.items()}
    figures.checks["every SIGTERM exits 0"] = all(
        s["exit_code"] == 0 for s in per_shutdown)
    await traffic.flush()
    await asyncio.sleep(2.0)
    recovery(traffic, moments, figures)


def run(var: Path) -> Figures:
    figures = Figures("sigterm", "SIGTERM each service under load (x3 each): graceful drain")
    return with_system(figures, var, body, split=True)


SCENARIOS = [Scenario("sigterm", "SIGTERM each service (the access service's two processes "
                                 "apart) under load, 3 times each", run, 200)]
