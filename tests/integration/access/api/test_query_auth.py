"""The query API's bearer tokens, and the health endpoints that need none."""

from __future__ import annotations

import pytest

from tests.integration.access.api.query_api import world

pytestmark = pytest.mark.integration


# --- auth ------------------------------------------------------------------------------


async def test_every_query_needs_a_known_bearer_token(api):
    w = await world(api)
    paths = [
        f"/v1/users/{w.owner}/chargers",
        f"/v1/access/check?user_id={w.owner}&charger_id={w.charger}",
        f"/v1/chargers/{w.charger}",
        f"/v1/chargers/{w.charger}/users",
        f"/v1/chargers/{w.charger}/history",
        f"/v1/groups/{w.fleet}",
        f"/v1/groups/{w.fleet}/chargers",
        f"/v1/invitations/{w.invitation}",
        "/openapi.json",
        "/metrics",
    ]
    for path in paths:
        missing = await api.client.get(path)
        wrong = await api.client.get(path, headers={"Authorization": "Bearer nope"})
        right = await api.client.get(path, headers={"Authorization": "Bearer another-token"})
        assert missing.status_code == 401, path
        assert missing.json()["error"] == "unauthorized"
        assert missing.headers["www-authenticate"] == "Bearer"
        assert wrong.status_code == 401, path
        assert right.status_code == 200, path


async def test_health_endpoints_need_no_token(api):
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"consumer": True, "database": True}


async def test_readyz_answers_503_with_the_failing_check(api):
    api.ready["consumer"] = False
    response = await api.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"consumer": False, "database": True}
    assert response.json()["ready"] is False
    assert response.headers["Retry-After"] == "1"
