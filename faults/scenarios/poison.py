"""(7) Poison storm: 1 000 malformed, oversize and unknown-type messages among 10 000
good commands. Every bad one must land in `access.commands.dlq` (those with an id also
get a `rejected`/`invalid` result), every good one its result, and the good throughput
must stay >= 0.8x that of a clean run of 10 000 good commands on the same system.

Oversize messages (just over the 1 MiB limit) are few (`OVERSIZE`): each costs a MiB
through the broker twice (in, and into the DLQ), which a 2-core box feels. Each carries an
id (the structured envelope's, or the binary binding's `ce_id`), so each must also be
answered `rejected`/`invalid` (issue 17: they used to carry none and were left out).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from pathlib import Path

from charger_access_client.envelope import MAX_MESSAGE_BYTES
from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import say, with_system
from faults.system import System
from faults.traffic import Traffic, envelope

GOOD = 10_000
BAD = 1_000
OVERSIZE = 20
MIN_RATIO = 0.8


Bad = tuple[str | None, bytes, list[tuple[str, bytes]] | None]
"""(command id when it carries one, value, headers)."""


def good_command() -> tuple[str, bytes, bytes]:
    user = uuid.uuid4()
    data = {"user_id": str(user), "email": f"p-{user.hex}@faults.example"}
    message = envelope("RegisterUser", data, user)
    return str(message["id"]), str(user).encode(), json.dumps(message).encode()


def bad_message(n: int, rng: random.Random) -> Bad:
    """The n-th bad message: oversize first, then six kinds in turn."""
    command_id = str(uuid.uuid4())
    binary = [("ce_specversion", b"1.0"), ("ce_id", command_id.encode()),
              ("ce_type", b"RegisterUser"), ("ce_source", b"faults"),
              ("ce_actor", str(uuid.uuid4()).encode())]
    if n < OVERSIZE:  # each carries its id (alternately structured and binary): answered too
        data = {"name": "x" * (MAX_MESSAGE_BYTES + 100)}
        if n % 2:
            return command_id, json.dumps(data).encode(), binary
        padded = envelope("RegisterUser", data, uuid.uuid4(), command_id)
        return command_id, json.dumps(padded).encode(), None
    kinds: list[Bad] = [
        (None, rng.randbytes(rng.randint(1, 300)), None),  # not JSON
        (None, b"[1, 2, 3]", None),  # JSON, not an object
        # an envelope without its required fields, but with an id
        (command_id, json.dumps({"id": command_id, "type": "RegisterUser"}).encode(), None),
        (command_id, json.dumps(envelope("LaunchRocket", {}, uuid.uuid4(), command_id)).encode(),
         None),  # unknown type
        (command_id, b"\xff\xfe not json", binary),  # binary binding, garbage data
        (None, b"", None),  # an empty value
    ]
    return kinds[n % len(kinds)]


async def _drain(traffic: Traffic, ids: list[str], started: float, within: float) -> float:
    """Seconds from `started` until every id has a result (or `within` ran out)."""
    deadline = time.monotonic() + within
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        pending = {i for i in pending if i not in traffic.wire.results}
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _good_run(traffic: Traffic, bad: int, rng: random.Random) -> tuple[float, list[str]]:
    good = [good_command() for _ in range(GOOD)]
    bads = [bad_message(n, rng) for n in range(bad)]
    order = [("good", i) for i in range(GOOD)] + [("bad", i) for i in range(bad)]
    rng.shuffle(order)
    started = time.monotonic()
    for kind, i in order:
        if kind == "good":
            command_id, key, value = good[i]
            await traffic.send_raw(command_id, "RegisterUser", key, value)
        else:
            bad_id, value, headers = bads[i]
            key = f"poison-{i}".encode()
            if bad_id is not None:
                await traffic.send_raw(bad_id, "poison", key, value, headers, expect="rejected")
            else:
                await traffic.send_raw(f"poison-{i}", "poison", key, value, headers, expect=None)
    ids = [g[0] for g in good]
    took = await _drain(traffic, ids, started, 180.0)
    return GOOD / took, ids


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    rng = random.Random(8)
    clean, _ = await _good_run(traffic, 0, rng)
    say(figures.scenario, f"clean run: {clean:,.0f} good commands/s")
    dead_before = len(traffic.wire.dead_letters)
    poisoned, _ = await _good_run(traffic, BAD, rng)
    ratio = poisoned / clean
    say(figures.scenario, f"poisoned run: {poisoned:,.0f} good commands/s ({ratio:.2f}x)")
    await traffic.flush()
    deadline = time.monotonic() + 60
    wanted = {f"poison-{i}".encode() for i in range(BAD)}
    while time.monotonic() < deadline:
        keys = _dlq_keys(traffic, dead_before)
        if wanted <= set(keys):
            break
        await asyncio.sleep(0.5)
    keys = _dlq_keys(traffic, dead_before)
    missing = wanted - set(keys)
    figures.lost += len(missing)
    figures.redeliveries += len(keys) - len(set(keys))
    figures.faults = BAD
    # Messages without an id are not commands: leave them out of the result ledger.
    for command_id in [c for c, s in traffic.sent.items() if s.expect is None]:
        del traffic.sent[command_id]
    figures.details.update({
        "clean_per_s": round(clean), "poisoned_per_s": round(poisoned), "ratio": round(ratio, 3),
        "bad": BAD, "oversize": OVERSIZE, "dead_letters": len(keys),
        "dead_letters_distinct": len(set(keys)), "missing_from_dlq": len(missing)})
    figures.checks["every bad message in the DLQ"] = not missing
    figures.checks[f"good throughput >= {MIN_RATIO}x clean"] = ratio >= MIN_RATIO


def _dlq_keys(traffic: Traffic, skip: int) -> list[bytes]:
    return [key or b"" for key, _, _ in traffic.wire.dead_letters[skip:]]


def run(var: Path) -> Figures:
    figures = Figures("poison-storm", f"{BAD:,} bad messages among {GOOD:,} good commands")
    return with_system(figures, var, body, notifications=False, converge_within=120.0)


SCENARIOS = [Scenario("poison-storm",
                      f"{BAD:,} malformed/oversize/unknown among {GOOD:,} good; DLQ, >= 0.8x",
                      run, 120)]
