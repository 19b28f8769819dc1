from __future__ import annotations

import uuid

from pydantic import SecretStr

from harness.ocpp_charger import basic_auth
from services.ocpp_gateway.credentials import ChargerPasswords, Login, password
from services.ocpp_gateway.handshake import Admitted, Answer, admit, one_authorization

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


async def scrape(authorization: str | None, tokens: tuple[str, ...] = ("scraper",)
                 ) -> Answer | Admitted:
    return await admit("/metrics?x=1", [], SPOKEN, known, lambda: "metrics\n",
                       authorization=authorization,
                       metrics_tokens=[SecretStr(t) for t in tokens])


async def test_health_and_metrics_are_plain_http() -> None:
    health = await outcome("/healthz", [])
    assert isinstance(health, Answer)
    assert (health.status, health.reason) == (200, "")
    for authorization in ("Bearer scraper", "bearer  scraper "):
        metrics = await scrape(authorization)
        assert isinstance(metrics, Answer)
        assert (metrics.body, metrics.content_type.split(";")[0]) == ("metrics\n", "text/plain")


async def test_metrics_answer_only_a_bearer_token_of_api_tokens() -> None:
    """The gateway's port faces the chargers' internet: its counters are not for anyone."""
    for authorization in (None, "", "Bearer", "Bearer wrong", "Basic c2NyYXBlcg==",
                          "scraper", "Bearer scraperX"):
        refused = await scrape(authorization)
        assert isinstance(refused, Answer)
        assert (refused.status, refused.body, refused.reason) == (401, "unauthorized\n", "")
        assert ("WWW-Authenticate", 'Bearer realm="metrics"') in refused.headers
    assert (await scrape("Bearer scraper", ())).status == 401  # type: ignore[union-attr]
    assert (await scrape("Bearer b", ("a", "b"))).status == 200  # type: ignore[union-attr]


SECRET = b"k" * 32


async def guarded(path: str, authorization: str | None, asked: list[str]) -> Answer | Admitted:
    async def lookup(serial: str) -> uuid.UUID | None:
        asked.append(serial)
        return await known(serial)

    return await admit(path, ["ocpp1.6"], SPOKEN, lookup, lambda: "", ChargerPasswords(SECRET),
                       authorization)


async def test_under_a_security_profile_a_charger_without_its_password_is_refused_unlooked_up(
) -> None:
    asked: list[str] = []
    for header in (None, basic_auth("SN 1", "guess")[1],
                   basic_auth("OTHER", password(SECRET, "OTHER"))[1]):
        refused = await guarded("/ocpp/SN%201", header, asked)
        assert isinstance(refused, Answer)
        assert (refused.status, refused.reason) == (401, "unauthorized")
        assert dict(refused.headers)["WWW-Authenticate"].startswith("Basic ")
    assert asked == []


async def test_under_a_security_profile_its_password_lets_a_known_charger_in() -> None:
    asked: list[str] = []
    header = basic_auth("SN 1", password(SECRET, "SN 1"))[1]
    assert await guarded("/ocpp/SN%201", header, asked) == Admitted(CHARGER, "SN 1",
                                                                    Login.ACCEPTED)
    unknown = await guarded("/ocpp/OTHER", basic_auth("OTHER", password(SECRET, "OTHER"))[1],
                            asked)
    assert isinstance(unknown, Answer)
    assert unknown.status == 404
    assert asked == ["SN 1", "OTHER"]


async def test_two_authorization_headers_are_a_wrong_password_not_an_error() -> None:
    right = basic_auth("SN 1", password(SECRET, "SN 1"))[1]
    assert one_authorization([]) is None
    assert one_authorization([right]) == right
    refused = await guarded("/ocpp/SN%201", one_authorization([right, right]), [])
    assert isinstance(refused, Answer)
    assert refused.status == 401
