"""(3b) Deterministic crash points: each named point of `services.common.fault_points`
in turn, under load. The service that holds it is restarted armed
(`FAULT_POINT=name:N`), dies with `os._exit` the Nth time it passes there (the phase the
kill hit is thus known, not guessed), is started again unarmed, and the books are balanced
before the next point: lost and effective duplicates are reported per point.

The documented SMTP exception: a crash after an e-mail's last byte left but before its
hand-over mark was written cannot know whether the server took it, so the next instance
sends it again: that point may double one e-mail; such doubles are counted as
`smtp_exception`, not as duplicates. `scheduler.after_append` is not run here: the
unit traffic has no time-bound shares, so the scheduler never appends (its point is
covered by the unit tests of the mechanism only). The gateway's points (`gateway.*`) need
connected chargers: `gateway-fault-points` (kill_gateway.py) runs them.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

from faults.audit import Auditor
from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import say, settle, with_system
from faults.system import System
from faults.traffic import Load, Traffic
from harness.processes import ServiceProcess
from services.common.fault_points import EXIT_CODE, POINTS

RATE = 20.0
AT = 3
"""Die at the 3rd pass: past start-up, mid-traffic."""
FIRE_WITHIN_S = 40.0
SMTP_EXCEPTION = "notifications.after_last_byte_before_mark"
NOT_UNDER_TRAFFIC = frozenset({"scheduler.after_append"})
ELSEWHERE = frozenset(p for p in POINTS if p.startswith("gateway."))
"""Run by `gateway-fault-points`, which connects chargers."""
RUN = tuple(p for p in POINTS if p not in NOT_UNDER_TRAFFIC | ELSEWHERE)


def holder(system: System, point: str) -> ServiceProcess:
    process = system.notifier if point.startswith("notifications.") else system.access
    assert process is not None
    return process


async def fire(system: System, traffic: Traffic, point: str) -> dict[str, Any]:
    """Restart the point's service armed, load until it dies there, start it again."""
    service = holder(system, point)
    unarmed = service.env
    await asyncio.to_thread(service.terminate)
    service.env = {**unarmed, "FAULT_POINT": f"{point}:{AT}"}
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=FIRE_WITHIN_S + 10, stop=stop))
    try:
        await asyncio.to_thread(service.spawn)
        started = time.monotonic()
        assert service.process is not None
        try:
            code: int | None = await asyncio.to_thread(service.process.wait, FIRE_WITHIN_S)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            await asyncio.to_thread(service.kill)  # never reached: stop it anyway
        else:
            service.exit_codes.append(code)
        service.env = unarmed
        took = await asyncio.to_thread(service.start)
        await asyncio.sleep(2.0)  # keep the load on after the restart
    finally:
        service.env = unarmed
        stop.set()
        await loader
    return {"point": point, "fired": code == EXIT_CODE, "exit_code": code,
            "after_s": round(time.monotonic() - started, 2), "back_in_s": round(took, 2)}


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    auditor = Auditor(system, traffic)
    points: list[dict[str, Any]] = []
    before: dict[str, int] = {"lost": 0, "duplicates": 0, "emails": 0, "redeliveries": 0}
    for point in RUN:
        found = await fire(system, traffic, point)
        await traffic.flush()
        converged = await auditor.converge(90.0)
        if point.startswith("notifications."):
            await settle(system, Figures(point))
        books = Figures(point)
        ledger = await auditor.conserve(books, rebuild=False)
        now = {"lost": books.lost, "duplicates": books.duplicates,
               "emails": ledger.duplicates["emails"], "redeliveries": books.redeliveries}
        step = {k: now[k] - before[k] for k in now}
        before = now
        exception = step["emails"] if point == SMTP_EXCEPTION else 0
        found.update({"converged_s": None if converged is None else round(converged, 1),
                      "lost": step["lost"], "duplicates": step["duplicates"] - exception,
                      "smtp_exception": exception, "redeliveries": step["redeliveries"]})
        figures.smtp_exception += exception
        points.append(found)
        say(figures.scenario, f"{point}: {'fired' if found['fired'] else 'NOT REACHED'} "
                              f"(exit {found['exit_code']}); lost {found['lost']}, "
                              f"duplicates {found['duplicates']}, smtp exception {exception}")
    figures.faults = sum(1 for p in points if p["fired"])
    figures.details["points"] = points
    figures.details["not_run"] = sorted(NOT_UNDER_TRAFFIC)
    figures.checks["every point reached and fired"] = all(p["fired"] for p in points)
    figures.checks["every point: 0 lost, 0 effective duplicates"] = all(
        p["lost"] == 0 and p["duplicates"] == 0 for p in points)


def run(var: Path) -> Figures:
    figures = Figures("fault-points", f"each fault point once under load ({len(RUN)} points)")
    return with_system(figures, var, body)


SCENARIOS = [Scenario("fault-points", "die at each named fault point once under load, restart",
                      run, 420)]
