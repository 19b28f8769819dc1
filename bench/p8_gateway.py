"""P8 (gateway): a command accepted → the `SendLocalList` carrying its change received by a
simulated charger connected to the OCPP gateway, p50 and p99 at a steady load.

Each command adds a charge key to one of N owners, each owning one charger connected to
the gateway (half OCPP 1.6, half 2.0.1): one list change per command, reaching one
charger through the projection, the `access.local-lists` publisher, Kafka, the gateway
and its WebSocket. The baseline is P2's path for the same commands in the same run: the
time until the query API shows the new list version (`min_position` = the result's
position), i.e. command → read-model freshness. PERFORMANCE.md's goal for P8: p99 <= 2x
P2's at the same load.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections import Counter
from typing import Any

from bench.core import Bench
from bench.http import Pool
from bench.kafka import register_charger, register_user
from bench.stats import Row, Target, percentile
from harness.ocpp_charger import Charger, connected

CHARGERS = 20
RATE = 50.0
"""Commands per second, each one list change (the write side sustains far more: P1)."""
WAIT = 30.0
"""A change not seen by then counts at the bound (censored, optimistic)."""


async def fleet(
    b: Bench, stack: contextlib.AsyncExitStack
) -> list[tuple[uuid.UUID, uuid.UUID, Charger]]:
    """N owners with a charger each, registered, connected and holding their list."""
    pairs = [(uuid.uuid4(), uuid.uuid4()) for _ in range(CHARGERS)]
    for owner, _ in pairs:
        await b.commands.run(*register_user(owner))
    results = [await b.commands.run(*register_charger(o, c)) for o, c in pairs]
    position = max(r.result["position"] for r in results)
    http = b.http(4)
    try:
        for _, charger_id in pairs:
            await http.get(f"/v1/chargers/{charger_id}/local-list/1.6?min_position={position}")
    finally:
        await http.close()
    held: list[tuple[uuid.UUID, uuid.UUID, Charger]] = []
    for n, (owner, charger_id) in enumerate(pairs):
        serial = f"SN-{charger_id.hex[:20]}"  # as bench.kafka.register_charger names it
        version = ("1.6", "2.0.1")[n % 2]
        held.append(
            (
                owner,
                charger_id,
                await stack.enter_async_context(connected(b.system.ocpp_url, serial, version)),
            )
        )
    for _, _, sim in held:
        await sim.until(functools.partial(_has_a_list, sim), within=WAIT)
    return held


def _has_a_list(charger: Charger) -> bool:
    return charger.list_version >= 1


async def _one(
    b: Bench, http: Pool, target: tuple[uuid.UUID, uuid.UUID, Charger], n: int, errors: Counter[str]
) -> tuple[float, float] | None:
    owner, charger_id, charger = target
    token = f"P8{n:06d}{owner.hex[:8]}".upper()
    key = token if charger.version == "1.6" else f"{token}/ISO14443"
    data: dict[str, Any] = {"key_id": uuid.uuid4(), "user_id": owner, "id_token": token}
    try:
        outcome = await b.commands.run("AddChargeKey", data, owner, owner, within=WAIT)
        if not outcome.accepted:
            errors[f"rejected {outcome.result.get('reason')}"] += 1
            return None

        async def read_model() -> float:
            path = (
                f"/v1/chargers/{charger_id}/local-list/1.6"
                f"?min_position={outcome.result['position']}"
            )
            response = await http.get(path)
            if response.status != 200:
                errors[f"http {response.status} (counted at the bound)"] += 1
            return time.monotonic() - outcome.sent_at

        async def at_charger() -> float:
            try:
                await charger.until(
                    lambda: key in charger.entries,
                    within=max(0.0, WAIT - (time.monotonic() - outcome.sent_at)),
                )
            except TimeoutError:
                errors["not at the charger in time (counted at the bound)"] += 1
            return time.monotonic() - outcome.sent_at

        seen, fresh = await asyncio.gather(at_charger(), read_model())
    except Exception as error:
        errors[f"error {type(error).__name__}"] += 1
        return None
    return seen, fresh


async def paced(
    b: Bench,
    http: Pool,
    held: list[tuple[uuid.UUID, uuid.UUID, Charger]],
    seconds: float,
    first: int,
) -> tuple[list[tuple[float, float]], Counter[str]]:
    errors: Counter[str] = Counter()
    tasks = []
    start = time.monotonic()
    for i in range(int(RATE * seconds)):
        delay = start + i / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(b, http, held[i % len(held)], first + i, errors)))
    results = await asyncio.gather(*tasks)
    return [r for r in results if r is not None], errors


async def run(b: Bench) -> None:
    plan = b.plan
    seconds = plan.p2_seconds
    b.say(f"P8 gateway: {CHARGERS} chargers, {plan.reps} x {seconds:.1f} s at {RATE:.0f} cmd/s")
    p50: list[float] = []
    p99: list[float] = []
    raw50: list[float] = []
    raw99: list[float] = []
    errors: Counter[str] = Counter()
    async with contextlib.AsyncExitStack() as stack:
        held = await fleet(b, stack)
        http = b.http(16)
        try:
            for rep in range(plan.reps):
                pairs, failed = await paced(b, http, held, seconds, rep * 100_000)
                errors.update(failed)
                seen = [s for s, _ in pairs]
                fresh = [f for _, f in pairs]
                p50.append(percentile(seen, 50) * 1000)
                p99.append(percentile(seen, 99) * 1000)
                raw50.append(percentile(fresh, 50) * 1000)
                raw99.append(percentile(fresh, 99) * 1000)
                b.say(
                    f"P8 rep {rep + 1}: at the charger p50 {p50[-1]:.0f} ms, p99 "
                    f"{p99[-1]:.0f} ms; read model p99 {raw99[-1]:.0f} ms ({len(pairs)} timed)"
                )
        finally:
            await http.close()
        schema_errors = sum(len(c.schema_errors) for _, _, c in held)
    note = f"{RATE:.0f} AddChargeKey/s open loop for {seconds:.1f} s, {CHARGERS} chargers"
    if errors:
        note += "; " + ", ".join(f"{n} {what}" for what, n in errors.items())
    b.rows.append(
        Row(
            "P8",
            "command -> SendLocalList at a charger, p50",
            "ms",
            p50,
            raw50,
            "command -> read model (P2's path) p50",
            "lower",
            None,
            note,
        )
    )
    b.rows.append(
        Row(
            "P8",
            "command -> SendLocalList at a charger, p99",
            "ms",
            p99,
            raw99,
            "command -> read model (P2's path) p99",
            "lower",
            Target("ratio", "<=", 2.0, "P2's path"),
            note,
        )
    )
    b.details["P8-gateway"] = {"errors": dict(errors), "schema_errors": schema_errors}
