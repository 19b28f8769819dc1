"""What the system scenarios share: start the parts, run the body, balance the books,
stop everything whatever happened."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from faults.audit import Auditor
from faults.report import Figures
from faults.system import SETTLE_S, System, fault_system
from faults.traffic import Load, Traffic
from services.local.postgres import LocalPostgres

log = logging.getLogger("faults")

Body = Callable[[System, Traffic, Figures], Awaitable[None]]


def say(scenario: str, text: str) -> None:
    print(f"  {scenario:>20} | {text}", flush=True)


def with_system(figures: Figures, var: Path, body: Body, *, own_cluster: bool = False,
                cluster_dir: Path | None = None, notifications: bool = True,
                converge_within: float = 120.0, emails: bool = True, gateway: bool = False,
                split: bool = False) -> Figures:
    """Start a system, run `body` under a traffic client, wait for the counts to settle,
    run the conservation check; stop everything. Exceptions land in `figures.error`.
    `split`: the access service as `make run` runs it, its command side as `.access` and
    its read side as `.more_access[0]`."""
    started = time.monotonic()
    system = fault_system(var, own_cluster=own_cluster, cluster_dir=cluster_dir,
                          notifications=notifications,
                          gateway=gateway, split=split)
    try:
        say(figures.scenario, "starting the system")
        system.start()
        if split:
            system.add_access(ACCESS_ROLE="queries")
        asyncio.run(_run(system, figures, body, converge_within, emails and notifications))
    except Exception as exc:
        figures.error = f"{type(exc).__name__}: {exc}"
        figures.details["traceback"] = traceback.format_exc()[-4000:]
    finally:
        system.stop()
        figures.seconds = time.monotonic() - started
        figures.details["logs"] = str(var)
    return figures


async def _run(system: System, figures: Figures, body: Body, within: float,
               emails: bool) -> None:
    traffic = Traffic(system.kafka, system.topics)
    await traffic.start()
    try:
        await body(system, traffic, figures)
        await traffic.flush()
        auditor = Auditor(system, traffic)
        say(figures.scenario, f"load done ({len(traffic.sent)} commands); waiting for the counts")
        figures.converged_s = await auditor.converge(within, emails=emails)
        if figures.converged_s is None:
            figures.notes.append(f"did not converge within {within:.0f} s")
        if emails:
            await settle(system, figures)
        say(figures.scenario, "conservation check")
        allowed = figures.smtp_exception  # the body provoked the SMTP exception this often
        ledger = await auditor.conserve(figures, emails=emails)
        figures.smtp_exception = min(allowed, ledger.duplicates["emails"])
        figures.duplicates -= figures.smtp_exception
        if emails and ledger.duplicates["emails"]:
            figures.details["emails_twice"] = arrivals_of_repeats(system)
        if system.notifier is not None and system.notifier.alive:
            found = system.notifier_metrics()
            figures.details["notifications_metrics"] = {
                k: v for k, v in found.items() if k.startswith("notifications_")}
            figures.redeliveries += int(found.get("notifications_duplicates_total", 0))
        figures.details["send_failures"] = traffic.send_failures
        figures.details["dead_letters"] = len(traffic.wire.dead_letters)
    finally:
        await traffic.stop()


async def settle(system: System, figures: Figures, seconds: float = SETTLE_S) -> None:
    """Keep watching the sink for `seconds` after everything arrived (a late duplicate
    comes after a lease ran out or a backoff passed); the verdict counts whatever came."""
    say(figures.scenario, f"settling {seconds:.0f} s (lease + one backoff) before the verdict")
    before = system.sink.deliveries()
    seen = {(d.message_id, d.recipient) for d in before}
    await asyncio.sleep(seconds)
    late = system.sink.deliveries()[len(before):]
    repeats = 0
    for d in late:
        key = (d.message_id, d.recipient)
        repeats += key in seen
        seen.add(key)
    figures.details["settle"] = {"seconds": seconds, "emails_in_window": len(late),
                                 "duplicates_in_window": repeats}


def arrivals_of_repeats(system: System, keep: int = 10) -> list[dict[str, object]]:
    """For each e-mail the sink received more than once, when each copy arrived
    (time.time()): set beside a scenario's fault moments, they tell a crash between an
    e-mail's last byte and its mark (the first copy just before a kill, the second after
    the takeover) from anything else."""
    copies: dict[tuple[str, str], list[float]] = {}
    for delivery in system.sink.deliveries():
        copies.setdefault((delivery.message_id, delivery.recipient), []).append(delivery.at)
    repeats: list[dict[str, object]] = [
        {"message_id": message_id, "arrived": [round(at, 4) for at in times]}
        for (message_id, _), times in copies.items() if len(times) > 1]
    return repeats[:keep]


def recovery(traffic: Traffic, moments: list[float], figures: Figures) -> None:
    """Per fault, seconds from its end until the first result produced after it."""
    times = [traffic.first_result_after(m) for m in moments]
    figures.details["recovery_each_s"] = [None if t is None else round(t, 2) for t in times]
    known = [t for t in times if t is not None]
    figures.recovery_s = max(known) if known else None
    if len(known) < len(times):
        figures.notes.append(f"{len(times) - len(known)} fault(s) with no result after them")


@contextlib.asynccontextmanager
async def under_load(traffic: Traffic, rate: float, seconds: float) -> AsyncIterator[Load]:
    """The usual load (`rate` units a second, for `seconds` at most) for the body of the
    `async with`; stopped, and its last unit sent, when the body ends however it ends."""
    load = Load(traffic, rate)
    stop = asyncio.Event()
    loader = asyncio.create_task(load.run(seconds=seconds, stop=stop))
    try:
        yield load
    finally:
        stop.set()
        await loader


async def resend_unanswered(traffic: Traffic, figures: Figures, rounds: int = 4) -> int:
    """What a client does after a broker lost records: resend, same id, each command with
    no result yet, every 5 s for `rounds` rounds; counted as redeliveries."""
    resent = 0
    for _ in range(rounds):
        await asyncio.sleep(5.0)
        resent += await traffic.resend_unanswered(older_than=10.0)
        await traffic.flush()
    figures.details["resent_without_result"] = resent
    figures.redeliveries += resent
    say(figures.scenario, f"resent {resent} commands that had no result")
    return resent


def note_survivors(system: System, figures: Figures) -> None:
    """Check that the services lived through a fault of another part without a restart."""
    for service in (system.access, system.notifier):
        if service is not None:
            figures.checks[f"{service.name} survived"] = service.alive and service.starts == 1


@contextlib.asynccontextmanager
async def cluster_back(cluster: LocalPostgres) -> AsyncIterator[None]:
    """Whatever the body did to it, the scenario's own cluster runs again after it."""
    try:
        yield
    finally:
        if not cluster.running:
            await asyncio.to_thread(cluster.start)


async def faults_over(traffic: Traffic, moments: list[float], figures: Figures) -> None:
    """After the faults (one per moment): the last commands sent, a moment for their
    results, then the recovery from each."""
    figures.faults = len(moments)
    await traffic.flush()
    await asyncio.sleep(2.0)
    recovery(traffic, moments, figures)
