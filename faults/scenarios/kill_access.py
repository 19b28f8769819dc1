"""(1) kill -9 of the access service at random moments under a steady command load.

The command consumer, the relay and the projection all live in that one process, so
each kill lands somewhere in a batch's life: before its commit (the batch is redelivered
and applied once), after it (the stored results are published again), mid-relay (events
re-published, deduped by id) or mid-projection (the read model must still equal a
rebuild).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import recovery, say, with_system
from faults.system import System
from faults.traffic import Load, Traffic

KILLS = 5
RATE = 40.0  # units/s = 120 commands/s


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    access = system.access
    assert access is not None
    rng = random.Random()
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=120, stop=stop))
    moments: list[float] = []
    try:
        for n in range(KILLS):
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            moments.append(time.time())
            await asyncio.to_thread(access.kill)
            took = await asyncio.to_thread(access.start)
            say(figures.scenario, f"kill {n + 1}/{KILLS}: back in {took:.1f} s "
                                  f"({len(traffic.sent)} commands sent)")
        await asyncio.sleep(4.0)  # keep the load on after the last restart
    finally:
        stop.set()
        await loader
    figures.faults = len(moments)
    await traffic.flush()
    await asyncio.sleep(2.0)
    recovery(traffic, moments, figures)


def run(var: Path) -> Figures:
    figures = Figures("kill-access", "kill -9 the access service under load (x5)")
    return with_system(figures, var, body)


SCENARIOS = [Scenario("kill-access", "kill -9 the access service under load, 5 times", run, 90)]
