"""(8) Races on one aggregate from separate executors, each on its own thread and its own
database connection (as separate instances of the service would), released together:
50 concurrent transfers of one charger to 50 different people, and 20 concurrent accepts
of one invitation. Optimistic concurrency must let exactly one win each race, and the
store must hold exactly one transfer and one grant."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from charger_access_client.commands import COMMAND_TYPES
from charger_access_client.envelope import CommandResult
from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import say
from faults.system import ADMIN_URL
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from services.access.store.application import AccessStore, open_store
from services.common.tokens import invitation_token

RULES = Rules(b"faults-race-secret", timedelta(days=7))
TRANSFERS = 50
ACCEPTS = 20


def _run(executor: Executor, type_: str, actor: uuid.UUID, **data: Any) -> CommandResult:
    command = COMMAND_TYPES[type_].model_validate(data)
    return executor.execute([Valid(str(uuid.uuid4()), actor, type_, command)])[0]


def race(store: AccessStore, commands: list[tuple[str, uuid.UUID, dict[str, Any]]]
         ) -> list[CommandResult]:
    barrier = threading.Barrier(len(commands))
    results: list[CommandResult | None] = [None] * len(commands)
    errors: list[BaseException] = []

    def worker(index: int, type_: str, actor: uuid.UUID, data: dict[str, Any]) -> None:
        executor = Executor(store, RULES)
        barrier.wait()
        try:
            results[index] = _run(executor, type_, actor, **data)
        except BaseException as exc:  # a crash is a finding, not a hang
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, *c)) for i, c in enumerate(commands)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise RuntimeError(f"{len(errors)} racing command(s) raised: {errors[0]!r}")
    return [r for r in results if r is not None]


def register(store: AccessStore) -> uuid.UUID:
    user = uuid.uuid4()
    result = _run(Executor(store, RULES), "RegisterUser", user, user_id=str(user),
                  email=f"{user}@faults.example")
    assert result.status == "accepted", result
    return user


def _count_events(store: AccessStore, aggregate: uuid.UUID, suffix: str) -> int:
    return sum(1 for n in store.recorder.select_notifications(1, 1_000_000)
               if n.topic.endswith(suffix) and n.originator_id == aggregate)


def transfers(store: AccessStore, figures: Figures) -> None:
    owner = register(store)
    recipients = [register(store) for _ in range(TRANSFERS)]
    charger = uuid.uuid4()
    assert _run(Executor(store, RULES), "RegisterCharger", owner, charger_id=str(charger),
                serial_number=f"R-{charger.hex[:12]}").status == "accepted"
    results = race(store, [("TransferChargerToUser", owner,
                            {"charger_id": str(charger), "recipient_email": f"{r}@faults.example",
                             "keep_connection": True}) for r in recipients])
    winners = [r for r in results if r.status == "accepted"]
    stored = _count_events(store, charger, "ChargerTransferredToUser")
    loaded = store.load(charger)
    owner_now = str(getattr(loaded, "owner_id", ""))
    figures.details["transfers"] = {
        "racers": TRANSFERS, "answered": len(results), "winners": len(winners),
        "stored_transfers": stored, "reasons": dict(Counter(r.reason for r in results))}
    figures.lost += (TRANSFERS - len(results)) + (1 if not winners else 0)
    figures.duplicates += max(0, len(winners) - 1) + max(0, stored - 1)
    figures.checks["transfers: one winner, one stored transfer"] = (
        len(winners) == 1 and stored == 1)
    figures.checks["transfers: the new owner is a racer's recipient"] = (
        owner_now in {str(r) for r in recipients})


def accepts(store: AccessStore, figures: Figures) -> None:
    owner, guest = register(store), register(store)
    charger, invitation = uuid.uuid4(), uuid.uuid4()
    executor = Executor(store, RULES)
    _run(executor, "RegisterCharger", owner, charger_id=str(charger),
         serial_number=f"A-{charger.hex[:12]}")
    assert _run(executor, "InviteUser", owner, invitation_id=str(invitation),
                email=f"{guest}@faults.example", charger_ids=[str(charger)]).status == "accepted"
    loaded = store.load(invitation)
    token = invitation_token(RULES.token_secret, invitation, getattr(loaded, "token_salt"))  # noqa: B009
    results = race(store, [("AcceptInvitation", guest,
                            {"invitation_id": str(invitation), "token": token})] * ACCEPTS)
    winners = [r for r in results if r.status == "accepted"]
    granted = _count_events(store, charger, "AccessGranted")
    figures.details["accepts"] = {
        "racers": ACCEPTS, "answered": len(results), "winners": len(winners),
        "stored_grants": granted, "reasons": dict(Counter(r.reason for r in results))}
    figures.lost += (ACCEPTS - len(results)) + (1 if not winners else 0)
    figures.duplicates += max(0, len(winners) - 1) + max(0, granted - 1)
    figures.checks["accepts: one winner, one stored grant"] = len(winners) == 1 and granted == 1


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run(var: Path) -> Figures:
    figures = Figures("races", f"{TRANSFERS} concurrent transfers, {ACCEPTS} concurrent accepts")
    started = time.monotonic()
    name = f"ca_faults_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    store: AccessStore | None = None
    try:
        store = open_store(f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}", pool_size=24)
        transfers(store, figures)
        accepts(store, figures)
        figures.commands = TRANSFERS + ACCEPTS
        figures.faults = 2
        say(figures.scenario, f"transfers {figures.details['transfers']}")
        say(figures.scenario, f"accepts {figures.details['accepts']}")
    except Exception as exc:
        figures.error = f"{type(exc).__name__}: {exc}"
    finally:
        if store is not None:
            store.close()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        figures.seconds = time.monotonic() - started
    return figures


SCENARIOS = [Scenario("races", f"{TRANSFERS} concurrent transfers of one charger, {ACCEPTS} "
                               "concurrent accepts of one invitation", run, 20)]
