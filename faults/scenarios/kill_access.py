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

`kill-one-of-two-access`: two instances (each the whole service) in one consumer group
on one database, as docs/scaling.md scales out: the three command partitions shared, one
instance leading the log's followers (relay, local lists, scheduler; an advisory lock,
`services/common/leadership.py`). Killed by turns, the leader first: each leader's
death must hand the followers to the survivor (checked: `leadership_moved`), each
standby's only its partitions. The next kill waits until both hold partitions again.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import faults_over, say, under_load, with_system
from faults.system import System
from faults.traffic import Traffic
from harness.processes import ServiceProcess, http_ok

KILLS = 5
SPLIT_KILLS = 6
TWO_KILLS = 6
"""Three leaders and three standbys."""
RATE = 40.0  # units/s = 120 commands/s


async def kill_by_turns(system: System, traffic: Traffic, figures: Figures,
                        turns: list[tuple[str, ServiceProcess]], kills: int) -> None:
    """Under load, kill -9 the processes of `turns` one after another, 1-4 s apart,
    `kills` times in all, each started again at once; recovery from the kill times."""
    rng = random.Random()
    moments: list[float] = []
    async with under_load(traffic, RATE, seconds=120):
        for n in range(kills):
            what, process = turns[n % len(turns)]
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            moments.append(time.time())
            await asyncio.to_thread(process.kill)
            took = await asyncio.to_thread(process.start)
            say(figures.scenario, f"kill {n + 1}/{kills}{what}: back in {took:.1f} s "
                                  f"({len(traffic.sent)} commands sent)")
        await asyncio.sleep(4.0)  # keep the load on after the last restart
    await faults_over(traffic, moments, figures)


async def one_process(system: System, traffic: Traffic, figures: Figures) -> None:
    assert system.access is not None
    await kill_by_turns(system, traffic, figures, [("", system.access)], KILLS)


async def two_processes(system: System, traffic: Traffic, figures: Figures) -> None:
    assert system.access is not None
    turns = [(" (read side)", system.more_access[0]), (" (command side)", system.access)]
    await kill_by_turns(system, traffic, figures, turns, SPLIT_KILLS)


def leader_of(system: System, instances: list[ServiceProcess]) -> ServiceProcess | None:
    """The instance whose `/metrics` says it leads, if exactly one does."""
    leading = [i for i in instances if system.metrics_of(i).get("access_leading") == 1]
    return leading[0] if len(leading) == 1 else None


async def wait_for_leader(system: System, instances: list[ServiceProcess],
                          within: float) -> ServiceProcess | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        leader = await asyncio.to_thread(leader_of, system, instances)
        if leader is not None:
            return leader
        await asyncio.sleep(0.2)
    return None


async def wait_until_ready(instances: list[ServiceProcess], within: float) -> bool:
    """Every instance's `/readyz` answers 200 (it holds command partitions)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        ready = [await asyncio.to_thread(http_ok, i.ready_url) for i in instances]
        if all(ready):
            return True
        await asyncio.sleep(0.2)
    return False


async def leader_and_standby(system: System, traffic: Traffic, figures: Figures) -> None:
    assert system.access is not None
    instances = [system.access, await asyncio.to_thread(system.add_access)]
    rng = random.Random()
    moments: list[float] = []
    killed: list[dict[str, Any]] = []
    async with under_load(traffic, RATE, seconds=180):
        for n in range(TWO_KILLS):
            if not await wait_until_ready(instances, 60.0):
                raise RuntimeError("the two instances did not both hold partitions")
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            leader = await wait_for_leader(system, instances, 30.0)
            if leader is None:
                raise RuntimeError("no single leader among the two instances")
            other = instances[1 - instances.index(leader)]
            victim, role = (leader, "leader") if n % 2 == 0 else (other, "standby")
            moments.append(time.time())
            await asyncio.to_thread(victim.kill)
            # The survivor alone: whoever leads now must be it.
            after = await wait_for_leader(system, [other if victim is leader else leader],
                                          30.0)
            led_after = time.time() - moments[-1]
            took = await asyncio.to_thread(victim.start)
            killed.append({"role": role, "instance": victim.env["ACCESS_INSTANCE"],
                           "survivor_led": after is not None,
                           "survivor_led_after_s": round(led_after, 2)})
            say(figures.scenario, f"kill {n + 1}/{TWO_KILLS} ({role}, "
                                  f"{victim.env['ACCESS_INSTANCE']}): the survivor "
                                  f"{'leads' if after is not None else 'does NOT lead'} "
                                  f"{led_after:.1f} s after; back in {took:.1f} s "
                                  f"({len(traffic.sent)} commands sent)")
        await asyncio.sleep(4.0)
    figures.details["kills"] = killed
    figures.checks["leadership_moved"] = all(k["survivor_led"] for k in killed)
    await faults_over(traffic, moments, figures)


def run(var: Path) -> Figures:
    figures = Figures("kill-access", "kill -9 the access service under load (x5)")
    return with_system(figures, var, one_process)


def run_split(var: Path) -> Figures:
    figures = Figures("kill-split", "kill -9 either access process under load (x6, by turns)")
    return with_system(figures, var, two_processes, split=True)


def run_two(var: Path) -> Figures:
    figures = Figures("kill-one-of-two-access",
                      "two access services in one group, the leader or the standby killed "
                      "by turns (x6)")
    return with_system(figures, var, leader_and_standby)


SCENARIOS = [
    Scenario("kill-access", "kill -9 the access service under load, 5 times", run, 90),
    Scenario("kill-one-of-two-access", "two access services in one group, the leader and "
                                       "the standby killed by turns under load, 6 times",
             run_two, 150),
    Scenario("kill-split", "kill -9 the access service's command side and read side by "
                           "turns under load, 6 times", run_split, 100),
]
