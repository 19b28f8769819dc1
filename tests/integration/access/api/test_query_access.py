"""Access through the query API: a user's chargers, a charger's users, the check, paging."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.integration.access.api.query_api import world

pytestmark = pytest.mark.integration


# --- access ----------------------------------------------------------------------------


async def test_user_chargers_list_level_and_why(api):
    w = await world(api)
    body = (await api.get(f"/v1/users/{w.guest}/chargers")).json()
    assert body["chargers"] == [
        {
            "charger_id": str(w.charger),
            "level": "charge",
            "why": [{"source": "share", "invitation_id": str(w.invitation), "level": "charge"}],
            "in_effect": True,
        }
    ]
    assert body["next_cursor"] is None
    assert body["position"] == api.log.position

    stranger = (await api.get(f"/v1/users/{w.stranger}/chargers")).json()
    assert stranger["chargers"] == []


async def test_charger_users_list_everyone_with_access(api):
    w = await world(api)
    body = (await api.get(f"/v1/chargers/{w.charger}/users")).json()
    levels = {u["user_id"]: u["level"] for u in body["users"]}
    assert levels == {str(w.owner): "manage", str(w.guest): "charge"}
    owner_entry = next(u for u in body["users"] if u["user_id"] == str(w.owner))
    assert [r["source"] for r in owner_entry["why"]] == ["owner", "group:owner"]


async def test_check_compares_the_effective_level_with_the_one_asked(api):
    w = await world(api)

    async def check(user: UUID, **params: str) -> dict[str, Any]:
        response = await api.get("/v1/access/check", user_id=user, charger_id=w.charger, **params)
        assert response.status_code == 200
        return response.json()

    owner = await check(w.owner, level="manage")
    assert (owner["allowed"], owner["level"]) == (True, "manage")
    guest = await check(w.guest)
    assert (guest["allowed"], guest["level"]) == (True, "charge")
    assert guest["why"][0]["invitation_id"] == str(w.invitation)
    guest_manage = await check(w.guest, level="manage")
    assert (guest_manage["allowed"], guest_manage["level"]) == (False, "charge")
    stranger = await check(w.stranger)
    assert stranger == {"allowed": False, "level": None, "why": [], "upcoming": None,
                        "position": api.log.position}


async def test_lists_page_through_more_than_one_page(api):
    w = await world(api)
    extra = [api.log.user() for _ in range(5)]
    for user in extra:
        api.log.grant(w.charger, user, "charge")
    await api.sync()

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = (await api.get(f"/v1/chargers/{w.charger}/users", **params)).json()
        pages += 1
        assert len(body["users"]) <= 3
        seen += [u["user_id"] for u in body["users"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(seen)
    assert set(seen) == {str(u) for u in [w.owner, w.guest, *extra]}
    assert len(seen) == 7


async def test_user_chargers_page_through_many_chargers(api):
    log = api.log
    owner = log.user()
    chargers = {str(log.charger(owner)) for _ in range(5)}
    await api.sync()
    first = (await api.get(f"/v1/users/{owner}/chargers", limit=2)).json()
    second = (
        await api.get(f"/v1/users/{owner}/chargers", limit=2, cursor=first["next_cursor"])
    ).json()
    third = (
        await api.get(f"/v1/users/{owner}/chargers", limit=2, cursor=second["next_cursor"])
    ).json()
    got = [c["charger_id"] for body in (first, second, third) for c in body["chargers"]]
    assert set(got) == chargers
    assert len(got) == 5
    assert third["next_cursor"] is None
