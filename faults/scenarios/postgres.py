"""(5) PostgreSQL restarted under load, on a throwaway cluster of the scenario's own:
a fast shutdown and start (open transactions rolled back), then a crash (kill -9 of the
postmaster and every backend) and start (crash recovery). Both services must reconnect
and carry on; a batch whose commit was cut is redelivered and applied once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import (
    cluster_back,
    faults_over,
    note_survivors,
    say,
    under_load,
    with_system,
)
from faults.system import System
from faults.traffic import Traffic

RATE = 40.0


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    cluster = system.database.cluster
    assert cluster is not None
    moments: list[float] = []
    async with under_load(traffic, RATE, seconds=120), cluster_back(cluster):
        await asyncio.sleep(6.0)
        started = time.monotonic()
        await asyncio.to_thread(cluster.restart)
        moments.append(time.time())
        say(figures.scenario, f"PostgreSQL restarted (fast shutdown) in "
                              f"{time.monotonic() - started:.1f} s")
        await asyncio.sleep(10.0)
        started = time.monotonic()
        await asyncio.to_thread(cluster.kill)
        await asyncio.to_thread(cluster.start)
        moments.append(time.time())
        say(figures.scenario, f"PostgreSQL killed (-9) and back after crash recovery in "
                              f"{time.monotonic() - started:.1f} s")
        await asyncio.sleep(12.0)
    await faults_over(traffic, moments, figures)
    note_survivors(system, figures)


def run(var: Path) -> Figures:
    figures = Figures("postgres-restart", "PostgreSQL restart and crash under load")
    return with_system(figures, var, body, own_cluster=True)


SCENARIOS = [Scenario("postgres-restart",
                      "PostgreSQL restarted, then killed -9 and started, under load", run, 90)]
