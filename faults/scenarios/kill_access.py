"""(1) kill -9 of the access service at random moments under a steady command load.

`kill-access`: the service as one process (`ACCESS_ROLE=all`). The command consumer, the
relay and the projection all live in it, so each kill lands somewhere in a batch's life:
before its commit (the batch is redelivered and applied once), after it (the stored
results are published again), mid-relay (events re-published, deduped by id) or
mid-projection (the read model must still equal a rebuild).

`kill-split`: the service as `make run` and compose run it, its command side (consumer,
relay, local lists, scheduler) and its read side (projection, query API) as two
processes, killed by turns. A killed read side leaves a projection batch mid-way: it rolls
back, and the restarted process applies it once from its tracking row, while the command
side goes on answering. The local lists, published by the command side, wake again on the
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
from harness.processes import ServiceProcess

KILLS = 5
SPLIT_KILLS = 6
RATE = 40.0  # units/s = 120 commands/s


async def kill_by_turns(system: System, traffic: Traffic, figures: Figures,
                        turns: list[tuple[str, ServiceProcess]], kills: int) -> None:
    """Under load, kill -9 the processes of `turns` one after another, 1-4 s apart,
    `kills` times in all, each started again at once; recovery from the kill times."""
    rng = random.Random()
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=120, stop=stop))
    moments: list[float] = []
    try:
        for n in range(kills):
            what, process = turns[n % len(turns)]
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            moments.append(time.time())
            await asyncio.to_thread(process.kill)
            took = await asyncio.to_thread(process.start)
            say(figures.scenario, f"kill {n + 1}/{kills}{what}: back in {took:.1f} s "
                                  f"({len(traffic.sent)} commands sent)")
        await asyncio.sleep(4.0)  # keep the load on after the last restart
    finally:
        stop.set()
        await loader
    figures.faults = len(moments)
    await traffic.flush()
    await asyncio.sleep(2.0)
    recovery(traffic, moments, figures)


async def one_process(system: System, traffic: Traffic, figures: Figures) -> None:
    assert system.access is not None
    await kill_by_turns(system, traffic, figures, [("", system.access)], KILLS)


async def two_processes(system: System, traffic: Traffic, figures: Figures) -> None:
    assert system.access is not None
    turns = [(" (read side)", system.more_access[0]), (" (command side)", system.access)]
    await kill_by_turns(system, traffic, figures, turns, SPLIT_KILLS)


def run(var: Path) -> Figures:
    figures = Figures("kill-access", "kill -9 the access service under load (x5)")
    return with_system(figures, var, one_process)


def run_split(var: Path) -> Figures:
    figures = Figures("kill-split", "kill -9 either access process under load (x6, by turns)")
    return with_system(figures, var, two_processes, split=True)


SCENARIOS = [
    Scenario("kill-access", "kill -9 the access service under load, 5 times", run, 90),
    Scenario("kill-split", "kill -9 the access service's command side and read side by "
                           "turns under load, 6 times", run_split, 100),
]
