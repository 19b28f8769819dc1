"""(11) A power cut: under load, PostgreSQL (its own cluster: postmaster and every
backend), the broker, the access service and the notification service are all killed -9
at the same moment, then started again in the order a machine's boot would: the
database (crash recovery), the broker (Tansu's memory storage comes back empty, as a
replaced Kafka cluster would), then the services.

What each part must do on its own: the store keeps every committed batch and nothing
else; the access service finds the broker's topics empty and publishes the whole log
again (docs/reliability.md findings 13 and 14); the notification service reads it all
again and sends nothing its sent-log has; a client resends, with the same id, what it
has no result for (as in `broker-restart`), and gets the first result again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import (
    cluster_back,
    recovery,
    resend_unanswered,
    say,
    under_load,
    with_system,
)
from faults.system import System
from faults.traffic import Traffic

RATE = 40.0


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    cluster, broker = system.database.cluster, system.broker
    access, notifier = system.access, system.notifier
    assert cluster is not None
    assert broker is not None
    assert access is not None
    assert notifier is not None
    async with under_load(traffic, RATE, seconds=90), cluster_back(cluster):
        await asyncio.sleep(8.0)
        seen = len(traffic.wire.events)
        await asyncio.gather(*(asyncio.to_thread(kill) for kill in
                               (cluster.kill, broker.kill, access.kill, notifier.kill)))
        cut = time.time()
        say(figures.scenario, f"power cut: database, broker and both services killed "
                              f"({seen} events seen, {len(traffic.sent)} commands sent)")
        await asyncio.sleep(2.0)
        started = time.monotonic()
        await asyncio.to_thread(cluster.start)
        await asyncio.to_thread(broker.start)
        await traffic.refollow()
        await asyncio.to_thread(access.start)
        await asyncio.to_thread(notifier.start)
        say(figures.scenario, f"everything back in {time.monotonic() - started:.1f} s")
        await asyncio.sleep(15.0)
    figures.faults = 1
    await traffic.flush()
    await resend_unanswered(traffic, figures)
    recovery(traffic, [cut], figures)


def run(var: Path) -> Figures:
    figures = Figures("power-cut", "database, broker and services killed -9 at once under load")
    return with_system(figures, var, body, own_cluster=True, converge_within=120.0)


SCENARIOS = [Scenario("power-cut", "PostgreSQL, the broker and both services killed -9 at "
                                   "once under load, started again in boot order", run, 120)]
