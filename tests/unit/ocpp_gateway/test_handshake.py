from __future__ import annotations

import uuid

from services.ocpp_gateway.handshake import Admitted, Answer, admit

CHARGER = uuid.uuid4()
SPOKEN = ("ocpp1.6", "ocpp2.0.1")


async def known(serial: str) -> uuid.UUID | None:
    return CHARGER if serial == "SN 1" else None


async def outcome(path: str, offered: list[str]) -> Answer | Admitted:
    return await admit(path, offered, SPOKEN, known, lambda: "metrics\n")


async def test_a_registered_charger_offering_a_spoken_subprotocol_is_admitted() -> None:
    assert await outcome("/ocpp/SN%201", ["ocpp2.1, ocpp2.0.1"]) == Admitted(CHARGER, "SN 1")


async def test_refusals_say_why() -> None:
    assert await outcome("/ocpp/SN%201", []) == Answer(
        400, "subprotocol required: one of ocpp1.6, ocpp2.0.1\n", reason="subprotocol"
    )
    assert (await outcome("/ocpp/SN%201", ["ocpp2.1"])).reason == "subprotocol"  # type: ignore[union-attr]
    assert (await outcome("/ocpp/OTHER", ["ocpp1.6"])).status == 404  # type: ignore[union-attr]
    for path in ("/ocpp/", "/ocpp/a/b", "/elsewhere", "/ocpp/" + "x" * 201):
        assert await outcome(path, ["ocpp1.6"]) == Answer(404, "not found\n", reason="path")


async def test_health_and_metrics_are_plain_http() -> None:
    health = await outcome("/healthz", [])
    assert isinstance(health, Answer)
    assert (health.status, health.reason) == (200, "")
    metrics = await outcome("/metrics?x=1", [])
    assert isinstance(metrics, Answer)
    assert (metrics.body, metrics.content_type.split(";")[0]) == ("metrics\n", "text/plain")
