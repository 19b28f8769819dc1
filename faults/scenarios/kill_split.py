"""(1b) kill -9 of either process of the access service, run as `make run` and compose run
it (`ACCESS_ROLE`): its command side and its read side, by turns, under a steady load.

A killed command side leaves batches, relay and local-list publications mid-way, as
`kill-access` does. A killed read side leaves a projection batch mid-way: it rolls back,
and the restarted process applies it once from its tracking row, while the command side
goes on answering. The local lists, published by the command side, wake again on the
projection's commits once the read side is back (`READ_MODELS_CHANNEL`). The books must
balance as for one process: nothing lost, nothing twice, the read models equal a rebuild.
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

KILLS = 6
RATE = 40.0  # units/s = 120 commands/s


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    commands, queries = system.access, system.more_access[0]
    assert commands is not None
    rng = random.Random()
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=120, stop=stop))
    moments: list[float] = []
    try:
        for n in range(KILLS):
            side, process = ("read", queries) if n % 2 == 0 else ("command", commands)
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            moments.append(time.time())
            await asyncio.to_thread(process.kill)
            took = await asyncio.to_thread(process.start)
            say(figures.scenario, f"kill {n + 1}/{KILLS} ({side} side): back in {took:.1f} s "
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
    figures = Figures("kill-split", "kill -9 either access process under load (x6, by turns)")
    return with_system(figures, var, body, split=True)


SCENARIOS = [Scenario("kill-split", "kill -9 the access service's command side and read "
                                    "side by turns under load, 6 times", run, 100)]
