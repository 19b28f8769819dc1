"""(4) The broker under load: paused (SIGSTOP) for 10 s then resumed; killed and started
again on the same port. Tansu keeps topics in memory, so a restarted broker comes back
empty: the access service recreates the topics (every 5 s) and carries on from the
store; a client resends, with the same id, each command it has no result for (the
broker may have lost it, or its result) and gets the first result again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import recovery, resend_unanswered, say, under_load, with_system
from faults.system import System
from faults.traffic import Load, Traffic

RATE = 40.0
PAUSE_S = 10.0


async def pause_body(system: System, traffic: Traffic, figures: Figures) -> None:
    broker = system.broker
    assert broker is not None
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=60, stop=stop))
    try:
        await asyncio.sleep(5.0)
        broker.pause()
        say(figures.scenario, f"broker paused (SIGSTOP) for {PAUSE_S:.0f} s")
        await asyncio.sleep(PAUSE_S)
        broker.resume()
        resumed = time.time()
        say(figures.scenario, "broker resumed (SIGCONT)")
        await asyncio.sleep(10.0)
    finally:
        broker.resume()
        stop.set()
        await loader
    figures.faults = 1
    await traffic.flush()
    await asyncio.sleep(2.0)
    recovery(traffic, [resumed], figures)


async def restart_body(system: System, traffic: Traffic, figures: Figures) -> None:
    broker = system.broker
    assert broker is not None
    async with under_load(traffic, RATE, seconds=90):
        await asyncio.sleep(8.0)
        before = len(traffic.wire.events)
        await asyncio.to_thread(broker.kill)
        say(figures.scenario, f"broker killed ({before} events seen); starting it again empty")
        await asyncio.to_thread(broker.start)
        restarted = time.time()
        await traffic.refollow()
        await asyncio.sleep(15.0)
    figures.faults = 1
    await traffic.flush()
    await resend_unanswered(traffic, figures)
    recovery(traffic, [restarted], figures)


def run_pause(var: Path) -> Figures:
    figures = Figures("broker-pause", f"broker SIGSTOP {PAUSE_S:.0f} s under load, SIGCONT")
    return with_system(figures, var, pause_body)


def run_restart(var: Path) -> Figures:
    figures = Figures("broker-restart", "broker kill -9 under load, started again empty")
    return with_system(figures, var, restart_body, converge_within=90.0)


SCENARIOS = [
    Scenario("broker-pause", f"broker paused (SIGSTOP) {PAUSE_S:.0f} s under load", run_pause, 70),
    Scenario("broker-restart", "broker killed under load, restarted empty (memory storage)",
             run_restart, 90),
]
