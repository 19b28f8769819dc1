"""Read your writes: `min_position` waits for the projection, or answers 503 stale; and 405 names the methods a path takes."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.access.api.query_api import AUTH, world

pytestmark = pytest.mark.integration


# --- read your writes --------------------------------------------------------------------


async def test_min_position_waits_until_the_projection_catches_up(api):
    w = await world(api)
    api.runner.start()
    target = api.log.position + 1

    async def write_later() -> None:
        await asyncio.sleep(0.1)
        api.log.grant(w.charger, w.stranger, "manage")

    writer = asyncio.create_task(write_later())
    response = await api.get(
        "/v1/access/check", user_id=w.stranger, charger_id=w.charger, min_position=target
    )
    await writer
    assert response.status_code == 200
    body = response.json()
    assert body["position"] >= target
    assert (body["allowed"], body["level"]) == (True, "manage")


async def test_min_position_out_of_reach_answers_503_stale(api):
    w = await world(api)
    position = api.log.position
    started = asyncio.get_running_loop().time()
    response = await api.get(f"/v1/chargers/{w.charger}", min_position=position + 100)
    elapsed = asyncio.get_running_loop().time() - started
    assert response.status_code == 503
    assert response.json() == {
        "error": "stale",
        "detail": "read model has not reached min_position",
        "position": position,
    }
    assert response.headers["Retry-After"] == "1"
    assert 0.25 <= elapsed < 2


async def test_a_method_the_path_does_not_take_answers_405_naming_the_ones_it_does(api):
    response = await api.client.post("/v1/access/check", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json()["error"] == "method_not_allowed"


async def test_min_position_already_reached_answers_at_once(api):
    w = await world(api)
    response = await api.get(f"/v1/chargers/{w.charger}", min_position=api.log.position)
    assert response.status_code == 200
