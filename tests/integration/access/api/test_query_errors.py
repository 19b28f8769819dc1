"""The query API's errors: 404 for unknown ids, 422 in our shape."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from tests.integration.access.api.query_api import world

pytestmark = pytest.mark.integration


# --- errors ------------------------------------------------------------------------------


async def test_unknown_ids_answer_404(api):
    await world(api)
    unknown = uuid4()
    for path in [
        f"/v1/users/{unknown}/chargers",
        f"/v1/chargers/{unknown}",
        f"/v1/chargers/{unknown}/users",
        f"/v1/chargers/{unknown}/history",
        f"/v1/groups/{unknown}",
        f"/v1/groups/{unknown}/chargers",
        f"/v1/invitations/{unknown}",
    ]:
        response = await api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


async def test_malformed_parameters_answer_422_in_our_shape(api):
    w = await world(api)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/v1/users/not-a-uuid/chargers", {}),
        (f"/v1/users/{w.owner}/chargers", {"limit": 0}),
        (f"/v1/users/{w.owner}/chargers", {"limit": 1001}),
        (f"/v1/users/{w.owner}/chargers", {"cursor": "garbage!"}),
        (f"/v1/chargers/{w.charger}/history", {"cursor": "WyJ4Il0"}),
        (f"/v1/chargers/{w.charger}", {"min_position": -1}),
        ("/v1/access/check", {"user_id": str(w.owner)}),
        ("/v1/access/check", {"user_id": str(w.owner), "charger_id": str(w.charger), "level": "x"}),
    ]
    for path, params in cases:
        response = await api.get(path, **params)
        assert response.status_code == 422, (path, params)
        body = response.json()
        assert body["error"] == "invalid"
        assert isinstance(body["detail"], list)
        assert body["detail"]
        assert {"loc", "msg", "type"} <= set(body["detail"][0])
