"""(6) The SMTP server down for 30 s under load, then back; and an SMTP server that
answers 451 (greylisting) for a while, then 250. Every e-mail arrives exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import say, with_system
from faults.system import System
from faults.traffic import Load, Traffic

RATE = 20.0
DOWN_S = 30.0
GREYLIST_S = 15.0


async def _first_email_after(system: System, moment: float, within: float) -> float | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        later = [r.at for r in system.sink.deliveries() if r.at > moment]
        if later:
            return min(later) - moment
        await asyncio.sleep(0.1)
    return None


async def down_body(system: System, traffic: Traffic, figures: Figures) -> None:
    smtp = system.sink
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=90, stop=stop))
    try:
        await asyncio.sleep(8.0)
        before = smtp.count()
        await asyncio.to_thread(smtp.stop)
        say(figures.scenario, f"SMTP down for {DOWN_S:.0f} s ({before} e-mails so far)")
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(smtp.start)
        back = time.time()
        say(figures.scenario, "SMTP back")
        figures.recovery_s = await _first_email_after(system, back, 60.0)
        await asyncio.sleep(5.0)
    finally:
        if not smtp.up:
            smtp.start()
        stop.set()
        await loader
    figures.faults = 1


async def greylist_body(system: System, traffic: Traffic, figures: Figures) -> None:
    smtp = system.sink
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=60, stop=stop))
    try:
        await asyncio.sleep(8.0)
        smtp.refuse("451 4.7.1 Greylisted, please try again later", seconds=GREYLIST_S)
        say(figures.scenario, f"SMTP answers 451 for {GREYLIST_S:.0f} s")
        await asyncio.sleep(GREYLIST_S)
        back = time.time()
        figures.recovery_s = await _first_email_after(system, back, 60.0)
        say(figures.scenario, f"SMTP answers 250 again; {smtp.refused} attempts refused")
        await asyncio.sleep(5.0)
    finally:
        smtp.allow()
        stop.set()
        await loader
    figures.faults = 1
    figures.details["refused_451"] = smtp.refused
    figures.redeliveries += smtp.refused


def run_down(var: Path) -> Figures:
    figures = Figures("smtp-down", f"SMTP server down {DOWN_S:.0f} s under load")
    return with_system(figures, var, down_body, converge_within=90.0)


def run_greylist(var: Path) -> Figures:
    figures = Figures("smtp-451", f"SMTP answers 451 for {GREYLIST_S:.0f} s, then 250")
    return with_system(figures, var, greylist_body, converge_within=90.0)


SCENARIOS = [
    Scenario("smtp-down", f"SMTP down {DOWN_S:.0f} s under load", run_down, 80),
    Scenario("smtp-451", f"SMTP answering 451 for {GREYLIST_S:.0f} s, then 250", run_greylist,
             60),
]
