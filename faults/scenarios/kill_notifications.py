"""(2) kill -9 of the notification service at random moments under load: each e-mail
still arrives exactly once (by Message-ID and recipient).

A kill after an e-mail was handed to the SMTP server leaves its row marked: the next
instance counts it sent when the lease runs out (120 s; 20 s in fault runs), never
sends it again. A kill before the hand-over leaves the row to the retry loop of the next
instance, after the lease: the e-mail is late, not lost.

Each kill is aimed: after a random delay it waits (a few seconds at most) for the
sent-log to show e-mails leased by the running instance, freezes it (SIGSTOP), looks
again and kills it frozen if it still holds some (else thaws it and waits on), and
counts, between the kill and the restart, what the dead instance left leased and how much
of it was handed over. A kill that leaves nothing in flight proves nothing about either
path, so the scenario kills again until five kills have left e-mails in flight, at most
fifteen times; its `kills_left_emails_in_flight` check fails when fifteen did not reach
five.

`kill-one-of-two-notifiers`: two instances in one consumer group (3 partitions), one of
them killed at a time: the survivor takes the partitions over, both share the sent-log.
"""

from __future__ import annotations

import asyncio
import random
import time
from functools import partial
from pathlib import Path
from typing import NamedTuple, Protocol

import asyncpg

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import say, under_load, with_system
from faults.system import System
from faults.traffic import Traffic
from harness.processes import ServiceProcess

KILLS = 5
"""Kills that must leave e-mails in flight."""
ATTEMPTS = 3 * KILLS
"""Kills at most, the ones that found nothing in flight included."""
RATE = 40.0
AIM_S = 5.0
"""How long a kill waits for e-mails in flight before it fires anyway."""
LOAD_S = 900.0
"""Longer than every kill can take: the load stops when the kills are done."""

IN_FLIGHT = """
SELECT count(*) AS leased, count(*) FILTER (WHERE handed_over_at IS NOT NULL) AS handed_over
  FROM notifications.sent_log
 WHERE status = 'pending' AND leased_by = $1 AND next_attempt_at > now()
"""


class InFlight(NamedTuple):
    """E-mails an instance holds the lease of: `handed_over` of them went to the SMTP
    server whole (its successor settles those sent), the rest it had yet to send. A row
    backing off after a failed try keeps its holder too (the sent-log does not tell it
    from a lease, and the successor takes it over as one); with the sink up, rare."""

    leased: int
    handed_over: int


async def in_flight(database: asyncpg.Connection, instance: str) -> InFlight:
    row = await database.fetchrow(IN_FLIGHT, instance)
    assert row is not None
    return InFlight(row["leased"], row["handed_over"])


class Holdable(Protocol):
    def pause(self) -> None: ...
    def resume(self) -> None: ...


async def aim(database: asyncpg.Connection, instance: str, victim: Holdable,
              within: float) -> InFlight | None:
    """Freeze `victim` (SIGSTOP) at a moment its `instance` holds e-mails in flight, and
    return what it holds, for the caller to kill frozen; None, `victim` running, if no such
    moment came within `within` seconds. An e-mail is in flight for milliseconds at this
    load, so a kill fired after merely seeing one mostly came too late: frozen, it cannot
    finish what the count saw."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (await in_flight(database, instance)).leased:
            victim.pause()
            held = await in_flight(database, instance)
            if held.leased:
                return held
            victim.resume()
        await asyncio.sleep(0.005)
    return None


def first_email_after(system: System, moment: float) -> float | None:
    later = [r.at for r in system.sink.deliveries() if r.at > moment]
    return min(later) - moment if later else None


async def wait_for_email_after(system: System, moment: float, within: float) -> float | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = first_email_after(system, moment + 0.5)
        if found is not None:
            return found + 0.5
        await asyncio.sleep(0.1)
    return None


async def wait_until_consuming(system: System, within: float,
                               notifier: ServiceProcess | None = None) -> float | None:
    """Seconds until a notification service (the first, by default) has partitions of
    `access.events` again (its `notifications_partitions_assigned`); None if not within
    `within`."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        found = await asyncio.to_thread(
            system.notifier_metrics if notifier is None else partial(system.metrics_of, notifier))
        if found.get("notifications_partitions_assigned", 0) > 0:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    return None


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    notifier = system.notifier
    assert notifier is not None
    rng = random.Random()
    moments: list[float] = []
    left: list[InFlight] = []
    deduped = 0
    instance = notifier.env["NOTIFICATIONS_INSTANCE"]
    database = await system.connect()
    try:
        async with under_load(traffic, RATE, seconds=LOAD_S):
            await wait_for_email_after(system, time.time() - 1, 45.0)  # the first one sends
            for n in range(ATTEMPTS):
                if caught(left) == KILLS:
                    break
                await asyncio.sleep(rng.uniform(0.2, 3.0))
                found = await asyncio.to_thread(system.notifier_metrics)
                deduped += int(found.get("notifications_duplicates_total", 0))
                await aim(database, instance, notifier, AIM_S)
                moments.append(time.time())
                await asyncio.to_thread(notifier.kill)
                left.append(await in_flight(database, instance))
                await asyncio.to_thread(notifier.start)
                flowing = await wait_for_email_after(system, moments[-1], 45.0)
                # Kill the next instance while it consumes, not while it joins the group: the
                # first e-mails after a restart are the ones it took over, sent before it joins
                # (waiting for those alone, every other kill fell into the join).
                joined = await wait_until_consuming(system, 45.0)
                say(figures.scenario, f"kill {n + 1} ({caught(left)}/{KILLS} in flight): left "
                                      f"{left[-1].leased} e-mails leased ({left[-1].handed_over} "
                                      "handed over); e-mails flow "
                                      f"again after {_seconds(flowing)} s, consuming again after "
                                      f"{_seconds(joined)} s ({system.sink.count()} so far)")
            await asyncio.sleep(8.0)
    finally:
        await database.close()
    figures.faults = len(moments)
    note_in_flight(figures, left)
    note_kills(figures, moments)
    figures.redeliveries += deduped
    times = [first_email_after(system, m + 0.5) for m in moments]
    note_recovery(figures, [None if t is None else t + 0.5 for t in times])


async def two_body(system: System, traffic: Traffic, figures: Figures) -> None:
    assert system.notifier is not None
    instances = [system.notifier, await asyncio.to_thread(system.add_notifier)]
    rng = random.Random()
    kills = 0
    moments: list[float] = []
    left: list[InFlight] = []
    names = [instance.env["NOTIFICATIONS_INSTANCE"] for instance in instances]
    database = await system.connect()
    try:
        async with under_load(traffic, RATE, seconds=LOAD_S):
            await wait_for_email_after(system, time.time() - 1, 45.0)
            for instance in instances:  # both in the group before the first kill
                await wait_until_consuming(system, 45.0, instance)
            for n in range(ATTEMPTS):
                if caught(left) == KILLS:
                    break
                await asyncio.sleep(rng.uniform(0.5, 4.0))
                victim = instances[n % 2]
                await aim(database, names[n % 2], victim, AIM_S)
                moment = time.time()
                await asyncio.to_thread(victim.kill)
                left.append(await in_flight(database, names[n % 2]))
                kills += 1
                await asyncio.sleep(rng.uniform(0.0, 3.0))  # the survivor alone for a while
                await asyncio.to_thread(victim.start)
                # Kill next while both consume, not while the group is still rebalancing.
                await wait_for_email_after(system, time.time(), 45.0)
                await wait_until_consuming(system, 45.0, victim)  # both send again
                flowing = first_email_after(system, moment)
                moments.append(moment)
                say(figures.scenario, f"kill {n + 1} ({caught(left)}/{KILLS} in flight, instance "
                                      f"{n % 2 + 1}): left "
                                      f"{left[-1].leased} e-mails leased ({left[-1].handed_over} "
                                      f"handed over); first e-mail after {_seconds(flowing)} s "
                                      f"({system.sink.count()} so far)")
            await asyncio.sleep(8.0)
    finally:
        await database.close()
    figures.faults = kills
    note_in_flight(figures, left)
    note_kills(figures, moments)
    note_recovery(figures, [first_email_after(system, m) for m in moments])


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def caught(left: list[InFlight]) -> int:
    """How many kills left e-mails in flight."""
    return sum(1 for kill in left if kill.leased)


def note_in_flight(figures: Figures, left: list[InFlight]) -> None:
    figures.details["left_in_flight_by_each_kill"] = [kill._asdict() for kill in left]
    figures.checks["kills_left_emails_in_flight"] = caught(left) >= KILLS


def note_kills(figures: Figures, moments: list[float]) -> None:
    """When each kill fired (time.time()), to set beside the arrivals of any e-mail
    received twice (`emails_twice`)."""
    figures.details["kill_moments"] = [round(m, 4) for m in moments]


def note_recovery(figures: Figures, times: list[float | None]) -> None:
    """Per kill, seconds until the first e-mail after it; the worst is the recovery."""
    figures.details["first_email_after_each_kill_s"] = [
        None if t is None else round(t, 2) for t in times
    ]
    known = [t for t in times if t is not None]
    figures.recovery_s = max(known) if known else None


def run(var: Path) -> Figures:
    figures = Figures("kill-notifications", "kill -9 the notification service under load (x5)")
    # Rows a killed instance had leased wait out their 120 s lease: give them time.
    return with_system(figures, var, body, converge_within=200.0)


def run_two(var: Path) -> Figures:
    figures = Figures("kill-one-of-two-notifiers",
                      "two notification services in one group, one killed at a time (x5)")
    return with_system(figures, var, two_body, converge_within=200.0)


SCENARIOS = [Scenario("kill-notifications",
                      "kill -9 the notification service under load, 5 times; e-mails once",
                      run, 150),
             Scenario("kill-one-of-two-notifiers",
                      "two notification services in one group, one killed at a time, 5 times",
                      run_two, 240)]
