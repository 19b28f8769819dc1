"""`/v1/audit/...` over HTTP: auditor tokens only, answers from the stored log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from services.access.api import create_app
from services.access.config import AccessSettings
from tests.integration.access.audit.history import History

pytestmark = pytest.mark.integration

AUDITOR = {"Authorization": "Bearer auditor-token"}
API_USER = {"Authorization": "Bearer api-token"}


class Caught:
    """The read models' position, as the API needs it (the audit routes do not wait)."""

    position = 0

    async def wait_for(self, position: int, timeout: float) -> bool:
        return True


@pytest.fixture
async def client(history: History) -> AsyncIterator[httpx.AsyncClient]:
    async def readiness() -> dict[str, bool]:
        return {}

    settings = AccessSettings(api_tokens=frozenset({"api-token"}),
                        audit_tokens=frozenset({"auditor-token"}))
    async with asyncpg.create_pool(history.url, min_size=1, max_size=2) as pool:
        app = create_app(pool, settings, Caught(), readiness)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def test_audit_endpoints_need_an_auditor_token(client, history):
    paths = [f"/v1/audit/timeline?charger_id={history.garasje}",
             f"/v1/audit/access-at?charger_id={history.garasje}&at=2025-03-03T15:00:00Z",
             "/v1/audit/verify"]
    for path in paths:
        missing = await client.get(path)
        unknown = await client.get(path, headers={"Authorization": "Bearer nope"})
        api_user = await client.get(path, headers=API_USER)
        auditor = await client.get(path, headers=AUDITOR)
        assert missing.status_code == 401, path
        assert unknown.status_code == 401, path
        assert api_user.status_code == 403, path
        assert api_user.json()["error"] == "forbidden"
        assert auditor.status_code == 200, (path, auditor.text)


async def test_an_auditor_token_opens_no_ordinary_query(client, history):
    response = await client.get(f"/v1/chargers/{history.garasje}", headers=AUDITOR)
    assert response.status_code == 401


async def test_timeline_pages_through_a_chargers_events(client, history):
    seen, cursor = [], None
    while True:
        params = {"charger_id": str(history.garasje), "limit": 5}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/v1/audit/timeline", params=params, headers=AUDITOR)).json()
        seen += body["events"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) > 10
    assert [e["position"] for e in seen] == sorted({e["position"] for e in seen})
    assert seen[-1]["sentence"] == "The invitation to Eva@Example.no ended: Kari gave the charger away"
    assert body["position"] >= seen[-1]["position"]


async def test_timeline_of_a_user_and_of_nothing(client, history):
    ola = await client.get("/v1/audit/timeline", params={"user_id": str(history.ola)},
                           headers=AUDITOR)
    nobody = await client.get("/v1/audit/timeline",
                              params={"user_id": "00000000-0000-0000-0000-000000000001"},
                              headers=AUDITOR)
    assert ola.json()["events"][0]["type"] == "UserRegistered"
    assert nobody.status_code == 404


async def test_timeline_needs_exactly_one_id(client, history):
    response = await client.get("/v1/audit/timeline", headers=AUDITOR,
                                params={"charger_id": str(history.garasje),
                                        "user_id": str(history.ola)})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"


async def test_access_at_answers_what_the_live_read_model_said(client, history):
    for shot in history.snapshots:
        at = (shot.at + timedelta(minutes=30)).isoformat()
        by_charger = await client.get("/v1/audit/access-at", headers=AUDITOR,
                                      params={"charger_id": str(history.carport), "at": at})
        by_user = await client.get("/v1/audit/access-at", headers=AUDITOR,
                                   params={"user_id": str(history.ola), "at": at})
        assert by_charger.json()["users"] == shot.users_of[str(history.carport)], shot.step
        assert by_user.json()["chargers"] == shot.chargers_of[str(history.ola)], shot.step


async def test_access_at_before_the_charger_existed_is_404(client, history):
    response = await client.get("/v1/audit/access-at", headers=AUDITOR,
                                params={"charger_id": str(history.garasje),
                                        "at": "2024-01-01T00:00:00Z"})
    assert response.status_code == 404


async def test_verify_over_http(client, history):
    body = (await client.get("/v1/audit/verify", headers=AUDITOR)).json()
    assert body["ok"] is True
    assert body["broken_at"] is None
    assert len(body["last_hash"]) == 64
