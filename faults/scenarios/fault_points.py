"""(3b) Deterministic crash points: each named point of `services.common.fault_points`
in turn, under load. The service that holds it is restarted armed
(`FAULT_POINT=name:N`), dies with `os._exit` the Nth time it passes there (the phase the
kill hit is thus known, not guessed), is started again unarmed, and the books are balanced
before the next point: lost and effective duplicates are reported per point.

The documented SMTP exception: a crash after an e-mail's last byte left but before its
hand-over mark was written cannot know whether the server took it, so the next instance
sends it again: that point may double one e-mail; such doubles are counted as
`smtp_exception`, not as duplicates. For `scheduler.after_append` the load also grants
shares that come into effect a few seconds later (`UpdateUserAccess` with `valid_from`),
so the scheduler appends boundary events and dies after one; afterwards each such share's
`ShareCameIntoEffect` must be in the store's log exactly once (lost: none, duplicates:
more than one) when it was granted before its `valid_from`. The gateway's points
(`gateway.*`) need connected chargers: `gateway-fault-points` (kill_gateway.py) runs them.
`FAULT_POINTS_ONLY` (comma-separated names) runs a subset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faults.audit import Auditor
from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import say, settle, with_system
from faults.system import System
from faults.traffic import Load, Traffic
from harness.processes import ServiceProcess
from services.access.eventlog.reader import EventLog
from services.common.fault_points import EXIT_CODE, POINTS
from services.common.timeouts import wait_for

RATE = 20.0
AT = 3
"""Die at the 3rd pass: past start-up, mid-traffic."""
FIRE_WITHIN_S = 40.0
SMTP_EXCEPTION = "notifications.after_last_byte_before_mark"
NOT_UNDER_TRAFFIC: frozenset[str] = frozenset()
"""Points not run by default, only when named in `FAULT_POINTS_ONLY` (none today: the
scheduler's runs with timed shares since the ledger models their access_changed e-mails)."""
ELSEWHERE = frozenset(p for p in POINTS if p.startswith("gateway."))
"""Run by `gateway-fault-points`, which connects chargers."""
RUN = tuple(p for p in POINTS if p not in NOT_UNDER_TRAFFIC | ELSEWHERE)
SCHEDULER = "scheduler.after_append"
AHEAD_S = 4.0
"""How far ahead a timed share's `valid_from` lies."""
TIMED_EVERY_S = 0.5
BOUNDARY_WITHIN_S = 30.0


def chosen(only: str | None) -> tuple[str, ...]:
    """The points to run: `RUN`, or those named in `only` (comma-separated), in POINTS'
    order; a point of NOT_UNDER_TRAFFIC runs only when named."""
    if not only:
        return RUN
    names = {n.strip() for n in only.split(",") if n.strip()}
    runnable = set(RUN) | NOT_UNDER_TRAFFIC
    unknown = names - runnable
    if unknown:
        raise ValueError(f"FAULT_POINTS_ONLY names points this scenario does not run: {unknown}")
    return tuple(p for p in POINTS if p in names)


async def timed_shares(
    traffic: Traffic, stop: asyncio.Event, shares: list[tuple[str, str]]
) -> None:
    """Grant shares that come into effect `AHEAD_S` later, until told to stop."""
    while not stop.is_set():
        owner, guest, charger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        key = str(owner)
        for user in (owner, guest):
            await traffic.send("RegisterUser", {"user_id": str(user), "name": "Timed",
                                                "email": f"t-{user.hex}@faults.example"},
                               user, key)
        await traffic.send("RegisterCharger", {"charger_id": str(charger),
                                               "serial_number": f"FT-{charger.hex[:20]}"},
                           owner, key)
        start = datetime.now(UTC) + timedelta(seconds=AHEAD_S)
        await traffic.send("UpdateUserAccess", {"user_id": str(guest),
                                                "charger_ids": [str(charger)], "level": "charge",
                                                "valid_from": start.isoformat()}, owner, key)
        shares.append((str(charger), str(guest)))
        with contextlib.suppress(TimeoutError):
            await wait_for(stop.wait(), TIMED_EVERY_S)


async def boundaries(
    system: System, shares: list[tuple[str, str]]
) -> tuple[Counter[tuple[str, str]], set[tuple[str, str]]]:
    """How often each share's ShareCameIntoEffect is in the store's log, and the shares
    that must have one: those granted before their `valid_from` (a share granted when it
    is already in effect, say while the service was down, comes into effect with its
    grant: no boundary). Waits (bounded) until each of those has one."""
    deadline = time.monotonic() + BOUNDARY_WITHIN_S
    while True:
        found: Counter[tuple[str, str]] = Counter()
        due: set[tuple[str, str]] = set()
        conn = await system.connect()
        try:
            log, after = EventLog(), 0
            while batch := await log.read(conn, after, 5000):
                for event in batch:
                    envelope = event.envelope
                    if envelope.type not in ("ShareCameIntoEffect", "AccessGranted"):
                        continue
                    share = (str(envelope.data["charger_id"]), str(envelope.data["user_id"]))
                    if envelope.type == "ShareCameIntoEffect":
                        found[share] += 1
                    elif (start := envelope.data.get("valid_from")) is not None:
                        granted = envelope.time.astimezone(UTC)
                        if datetime.fromisoformat(str(start).replace("Z", "+00:00")) > granted:
                            due.add(share)
                after = batch[-1].position
        finally:
            await conn.close()
        due &= set(shares)
        if due <= set(found) or time.monotonic() > deadline:
            return Counter({share: found[share] for share in shares}), due


def holder(system: System, point: str) -> ServiceProcess:
    process = system.notifier if point.startswith("notifications.") else system.access
    assert process is not None
    return process


async def fire(
    system: System, traffic: Traffic, point: str, timed: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Restart the point's service armed, load until it dies there, start it again."""
    service = holder(system, point)
    unarmed = service.env
    await asyncio.to_thread(service.terminate)
    service.env = {**unarmed, "FAULT_POINT": f"{point}:{AT}"}
    load = Load(traffic, RATE)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=FIRE_WITHIN_S + 10, stop=stop))
    loaders = [loader]
    if timed is not None:
        loaders.append(asyncio.create_task(timed_shares(traffic, stop, timed)))
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
        await asyncio.gather(*loaders)
    return {"point": point, "fired": code == EXIT_CODE, "exit_code": code,
            "after_s": round(time.monotonic() - started, 2), "back_in_s": round(took, 2)}


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    auditor = Auditor(system, traffic)
    points: list[dict[str, Any]] = []
    before: dict[str, int] = {"lost": 0, "duplicates": 0, "emails": 0, "redeliveries": 0}
    run = chosen(os.environ.get("FAULT_POINTS_ONLY"))
    for point in run:
        timed: list[tuple[str, str]] | None = [] if point == SCHEDULER else None
        found = await fire(system, traffic, point, timed)
        await traffic.flush()
        converged = await auditor.converge(90.0)
        if timed is not None:
            counts, due = await boundaries(system, timed)
            found["boundaries"] = {"shares": len(timed), "due": len(due),
                                   "missing": [i for i, s in enumerate(timed)
                                               if s in due and not counts[s]],
                                   "lost": sum(1 for s in due if counts[s] == 0),
                                   "duplicates": sum(n - 1 for n in counts.values() if n > 1)}
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
        if "boundaries" in found:
            found["lost"] += found["boundaries"]["lost"]
            found["duplicates"] += found["boundaries"]["duplicates"]
        figures.smtp_exception += exception
        points.append(found)
        say(figures.scenario, f"{point}: {'fired' if found['fired'] else 'NOT REACHED'} "
                              f"(exit {found['exit_code']}); lost {found['lost']}, "
                              f"duplicates {found['duplicates']}, smtp exception {exception}")
    figures.faults = sum(1 for p in points if p["fired"])
    figures.details["points"] = points
    figures.details["not_run"] = sorted((set(RUN) | NOT_UNDER_TRAFFIC) - set(run))
    figures.checks["every point reached and fired"] = all(p["fired"] for p in points)
    figures.checks["every point: 0 lost, 0 effective duplicates"] = all(
        p["lost"] == 0 and p["duplicates"] == 0 for p in points)


def run(var: Path) -> Figures:
    figures = Figures("fault-points", f"each fault point once under load ({len(RUN)} points)")
    return with_system(figures, var, body)


SCENARIOS = [Scenario("fault-points", "die at each named fault point once under load, restart",
                      run, 420)]
