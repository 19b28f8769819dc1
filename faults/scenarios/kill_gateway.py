"""(3b) kill -9 of the OCPP gateway under a steady stream of list changes.

Simulated chargers (both OCPP versions) stay connected, reconnecting whenever the gateway
hangs up, while the owner's charge keys are added and blocked (each changes every
charger's list). The gateway is killed and started again three times. It keeps nothing of
its own, so nothing can be lost in it: after the load, every charger's list must equal the
read model's Full list (`lost` counts the chargers whose list differs).

`gateway-fault-points` runs the same fleet and churn, but each fault is deterministic: the
gateway is restarted with `FAULT_POINT=<point>:3` for each gateway point of
`services.common.fault_points` and dies (`os._exit(86)`) there, then is started unarmed.
Half the chargers take 3 list entries per message, so Full lists go in parts and
`gateway.mid_parts` is reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import say, with_system
from faults.system import System
from faults.traffic import Traffic
from harness.ocpp_charger import Charger, Kept, connected
from harness.processes import ServiceProcess
from services.common.fault_points import EXIT_CODE, POINTS
from services.common.timeouts import wait_for

KILLS = 3
CHARGERS = 10
CHANGES_PER_SECOND = 8.0
SETTLE_SECONDS = 30.0
GATEWAY_POINTS = tuple(p for p in POINTS if p.startswith("gateway."))
AT = 3
"""Die at the 3rd pass: past the first reconnections, under churn."""
FIRE_WITHIN_S = 40.0
PER_MESSAGE = 3
"""What half the chargers of `gateway-fault-points` take per SendLocalList."""

Fault = Callable[[ServiceProcess], Awaitable[dict[str, Any]]]
"""Stops the gateway somehow and starts it again; what happened, for the report."""


async def kill_and_start(gateway: ServiceProcess) -> dict[str, Any]:
    await asyncio.to_thread(gateway.kill)
    return {"fault": "kill -9", "back_in_s": round(await asyncio.to_thread(gateway.start), 2)}


def die_at(point: str) -> Fault:
    """Restart the gateway armed at `point`, wait until it dies there, start it unarmed."""

    async def fault(gateway: ServiceProcess) -> dict[str, Any]:
        unarmed = gateway.env
        await asyncio.to_thread(gateway.kill)  # it keeps nothing: no need to stop it gently
        gateway.env = {**unarmed, "FAULT_POINT": f"{point}:{AT}"}
        try:
            await asyncio.to_thread(gateway.spawn)
            started = time.monotonic()
            assert gateway.process is not None
            try:
                code: int | None = await asyncio.to_thread(gateway.process.wait, FIRE_WITHIN_S)
            except subprocess.TimeoutExpired:
                code = None
            if code is None:
                await asyncio.to_thread(gateway.kill)  # never reached: stop it anyway
            else:
                gateway.exit_codes.append(code)
        finally:
            gateway.env = unarmed
        took = await asyncio.to_thread(gateway.start)
        return {
            "fault": point,
            "fired": code == EXIT_CODE,
            "exit_code": code,
            "after_s": round(time.monotonic() - started, 2),
            "back_in_s": round(took, 2),
        }

    return fault


class Fleet:
    """The chargers, each reconnecting on its own until told to stop."""

    def __init__(
        self, url: str, serials: dict[str, str], per_message: dict[str, int] | None = None
    ) -> None:
        self._url = url
        self._serials = serials  # serial -> OCPP version
        self.chargers: dict[str, Charger] = {}
        self.connections: dict[str, int] = dict.fromkeys(serials, 0)
        per_message = per_message or {}
        self._kept = {serial: Kept(per_message=per_message.get(serial)) for serial in serials}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._keep(s, v)) for s, v in self._serials.items()]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def connected_count(self) -> int:
        return sum(
            1 for c in self.chargers.values() if c.serving is not None and not c.serving.done()
        )

    async def _keep(self, serial: str, version: str) -> None:
        while not self._stop.is_set():
            try:
                async with connected(
                    self._url, serial, version, kept=self._kept[serial]
                ) as charger:
                    self.chargers[serial] = charger
                    self.connections[serial] += 1
                    stopping = asyncio.create_task(self._stop.wait())
                    assert charger.serving is not None
                    await asyncio.wait(
                        [charger.serving, stopping], return_when=asyncio.FIRST_COMPLETED
                    )
                    stopping.cancel()
            except Exception:  # refused or cut while it is down: try again
                await asyncio.sleep(0.2)


async def command(
    traffic: Traffic, type_: str, data: dict[str, Any], actor: uuid.UUID, within: float = 60.0
) -> dict[str, Any]:
    """Send through the scenario's traffic (so the books count it) and wait for its result."""
    command_id = await traffic.send(type_, data, actor, key=str(actor))
    async with asyncio.timeout(within):
        while command_id not in traffic.wire.results:  # noqa: ASYNC110 - filled by a follower
            await asyncio.sleep(0.05)
    return dict(json.loads(traffic.wire.results[command_id][-1]))


async def read_model_lists(
    system: System, chargers: dict[str, uuid.UUID], versions: dict[str, str]
) -> dict[str, tuple[int, dict[str, str]]]:
    found: dict[str, tuple[int, dict[str, str]]] = {}
    async with system.http() as http:
        for serial, charger_id in chargers.items():
            version = versions[serial]
            body = (await http.get(f"/v1/chargers/{charger_id}/local-list/{version}")).json()
            entries = body["request"].get("localAuthorizationList", [])
            if version == "1.6":
                found[serial] = (
                    body["version"],
                    {e["idTag"]: e["idTagInfo"]["status"] for e in entries},
                )
            else:
                found[serial] = (
                    body["version"],
                    {
                        f"{e['idToken']['idToken']}/{e['idToken']['type']}": e["idTokenInfo"][
                            "status"
                        ]
                        for e in entries
                    },
                )
    return found


async def churn(traffic: Traffic, owner: uuid.UUID, stop: asyncio.Event) -> int:
    """Add keys and block some, at a steady pace; the number of changes made."""
    keys: list[str] = []
    made = 0
    while not stop.is_set():
        if keys and made % 3 == 2:
            await traffic.send("BlockChargeKey", {"key_id": keys.pop(0)}, owner, key=str(owner))
        else:
            key_id = str(uuid.uuid4())
            keys.append(key_id)
            await traffic.send(
                "AddChargeKey",
                {
                    "key_id": key_id,
                    "user_id": str(owner),
                    "id_token": f"K{made:05d}{owner.hex[:6]}",
                },
                owner,
                key=str(owner),
            )
        made += 1
        with contextlib.suppress(TimeoutError):
            await wait_for(stop.wait(), 1 / CHANGES_PER_SECOND)
    return made


async def body(
    system: System,
    traffic: Traffic,
    figures: Figures,
    faults: Sequence[Fault],
    per_message: int | None = None,
) -> None:
    gateway = system.ocpp
    assert gateway is not None
    owner = uuid.uuid4()
    await command(
        traffic,
        "RegisterUser",
        {"user_id": str(owner), "email": f"fleet-{owner.hex[:8]}@example.no"},
        owner,
    )
    chargers: dict[str, uuid.UUID] = {}
    versions: dict[str, str] = {}
    for n in range(CHARGERS):
        charger_id = uuid.uuid4()
        serial = f"FLEET-{n:02d}-{charger_id.hex[:8]}"
        result = await command(
            traffic,
            "RegisterCharger",
            {"charger_id": str(charger_id), "serial_number": serial},
            owner,
        )
        chargers[serial], versions[serial] = charger_id, ("1.6", "2.0.1")[n % 2]
    async with system.http() as http:  # the gateway knows a charger once the read model does
        await http.get("/readyz", params={"min_position": result["position"]})
    parted = {s: per_message for s in list(versions)[::2] if per_message is not None}
    fleet = Fleet(system.ocpp_url, versions, parted)
    fleet.start()
    stop = asyncio.Event()
    changes = asyncio.create_task(churn(traffic, owner, stop))
    rng = random.Random()
    back: list[float] = []
    steps: list[dict[str, Any]] = []
    try:
        for n, fault in enumerate(faults):
            await asyncio.sleep(rng.uniform(2.0, 4.0))
            started = time.monotonic()
            step = await fault(gateway)
            reconnecting = time.monotonic()
            async with asyncio.timeout(60):
                while fleet.connected_count() < CHARGERS:  # noqa: ASYNC110 - chargers' own loops
                    await asyncio.sleep(0.05)
            back.append(time.monotonic() - (reconnecting if "fired" in step else started))
            step["reconnected_in_s"] = round(back[-1], 2)
            steps.append(step)
            say(
                figures.scenario,
                f"{step['fault']} {n + 1}/{len(faults)}: "
                f"{'' if step.get('fired', True) else 'NOT REACHED, '}"
                f"gateway back in {step['back_in_s']:.1f} s, "
                f"every charger reconnected in {back[-1]:.1f} s",
            )
        await asyncio.sleep(4.0)  # Differentials to the reconnected chargers, under load
    finally:
        stop.set()
        made = await changes
    figures.faults = sum(1 for s in steps if s.get("fired", True))
    figures.recovery_s = max(back) if back else None
    await traffic.flush()
    try:
        differing = await settle(system, fleet, chargers, versions)
    finally:
        await fleet.stop()
    figures.lost = len(differing)
    figures.checks["every charger's list equals the read model's"] = not differing
    figures.details.update(
        {
            "faults": steps,
            "list_changes_sent": made,
            "chargers": CHARGERS,
            "connections": fleet.connections,
            "differing": differing,
            "gateway_metrics": {
                k: v for k, v in system.gateway_metrics().items() if k.startswith("ocpp_gateway_")
            },
        }
    )


async def settle(
    system: System, fleet: Fleet, chargers: dict[str, uuid.UUID], versions: dict[str, str]
) -> list[str]:
    """Wait until every charger holds its read-model list; the serials that never did."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        expected = await read_model_lists(system, chargers, versions)
        differing = [
            s
            for s, (version, statuses) in expected.items()
            if s not in fleet.chargers
            or (fleet.chargers[s].list_version, fleet.chargers[s].statuses()) != (version, statuses)
        ]
        if not differing or time.monotonic() > deadline:
            return differing
        await asyncio.sleep(0.5)


def run(var: Path) -> Figures:
    figures = Figures("kill-gateway", "kill -9 the OCPP gateway under list changes (x3)")

    async def kills(system: System, traffic: Traffic, figures: Figures) -> None:
        await body(system, traffic, figures, [kill_and_start] * KILLS)

    return with_system(figures, var, kills, notifications=False, emails=False, gateway=True)


def run_points(var: Path) -> Figures:
    figures = Figures(
        "gateway-fault-points", f"the gateway dies at each of its fault points ({GATEWAY_POINTS})"
    )

    async def points(system: System, traffic: Traffic, figures: Figures) -> None:
        await body(system, traffic, figures, [die_at(p) for p in GATEWAY_POINTS], PER_MESSAGE)
        steps = figures.details["faults"]
        figures.checks["every gateway point reached and fired"] = all(s["fired"] for s in steps)

    return with_system(figures, var, points, notifications=False, emails=False, gateway=True)


SCENARIOS = [
    Scenario("kill-gateway", "kill -9 the OCPP gateway under list changes, 3 times", run, 120),
    Scenario(
        "gateway-fault-points",
        "the OCPP gateway dies at each of its fault points under list changes, restarted",
        run_points,
        120,
    ),
]
