"""The query API through HTTP, against the real PostgreSQL and a real projection runner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from charger_access_client import access_events as ev
from services.access.api import create_app
from services.access.config import AccessSettings
from services.access.eventlog.values import LoggedEvent
from services.access.projection.runner import ProjectionRunner
from tests.unit.access.event_builders import ScriptedLog

pytestmark = pytest.mark.integration

TOKEN = "test-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class InMemoryLog(ScriptedLog):
    """A scripted log the runner reads from, like the store's notification log."""

    async def read(self, after: int, limit: int) -> Sequence[LoggedEvent]:
        return [e for e in self.all if e.position > after][:limit]

    def add(self, event: ev.AccessEvent, subject: UUID, actor: UUID | None = None) -> LoggedEvent:
        logged = super().add(event, subject, actor)
        self.all.append(logged)
        return logged

    def __init__(self) -> None:
        super().__init__()
        self.all: list[LoggedEvent] = []


@dataclass
class Api:
    client: httpx.AsyncClient
    log: InMemoryLog
    runner: ProjectionRunner
    ready: dict[str, bool]

    async def sync(self) -> int:
        return await self.runner.catch_up()

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=AUTH)


@pytest.fixture
async def api(pool: asyncpg.Pool, schema: str) -> AsyncIterator[Api]:
    log = InMemoryLog()
    runner = ProjectionRunner(pool, log.read, schema=schema, batch_size=50, poll_interval=0.05)
    ready = {"consumer": True}

    async def readiness() -> dict[str, bool]:
        return dict(ready)

    settings = AccessSettings(api_tokens=frozenset({TOKEN, "another-token"}))
    app = create_app(pool, settings, runner, readiness, schema=schema, wait_timeout=0.3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield Api(client, log, runner, ready)
    await runner.stop()


@dataclass
class World:
    owner: UUID
    guest: UUID
    stranger: UUID
    fleet: UUID
    charger: UUID
    invitation: UUID


async def world(api: Api) -> World:
    log = api.log
    owner, guest, stranger = log.user(), log.user(), log.user()
    fleet = log.group(owner)
    charger = log.charger(owner, fleet)
    invitation = log.invite(owner, [charger], expires_at=datetime.now(UTC) + timedelta(days=7))
    log.grant(charger, guest, "charge", invitation_id=invitation)
    await api.sync()
    return World(owner, guest, stranger, fleet, charger, invitation)


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


# --- chargers, groups, invitations, history ----------------------------------------------


async def test_charger_shows_group_owner_and_connection(api):
    w = await world(api)
    body = (await api.get(f"/v1/chargers/{w.charger}")).json()
    assert body["group_id"] == str(w.fleet)
    assert body["owner_id"] == str(w.owner)
    assert body["connected"] is True
    assert body["position"] == api.log.position


async def test_group_shows_members_roles_and_chargers(api):
    w = await world(api)
    api.log.member(w.fleet, w.guest, "admin")
    await api.sync()
    body = (await api.get(f"/v1/groups/{w.fleet}")).json()
    roles = {m["user_id"]: m["role"] for m in body["members"]}
    assert roles == {str(w.owner): "owner", str(w.guest): "admin"}
    assert (body["charger_count"], body["personal"]) == (1, False)

    page = (await api.get(f"/v1/groups/{w.fleet}", limit=1)).json()
    assert len(page["members"]) == 1
    rest = (await api.get(f"/v1/groups/{w.fleet}", limit=1, cursor=page["next_cursor"])).json()
    assert {page["members"][0]["user_id"], rest["members"][0]["user_id"]} == set(roles)
    assert rest["next_cursor"] is None

    chargers = (await api.get(f"/v1/groups/{w.fleet}/chargers")).json()
    assert [c["charger_id"] for c in chargers["chargers"]] == [str(w.charger)]


async def test_invitation_shows_status_and_never_a_token(api):
    w = await world(api)
    response = await api.get(f"/v1/invitations/{w.invitation}")
    body = response.json()
    assert body["status"] == "pending"
    assert body["level"] == "charge"
    assert [c["charger_id"] for c in body["chargers"]] == [str(w.charger)]
    assert "token" not in response.text
    assert "salt" not in response.text


async def test_pending_invitation_past_its_expiry_reads_as_expired(api):
    owner = api.log.user()
    charger = api.log.charger(owner)
    old = api.log.invite(owner, [charger], expires_at=datetime.now(UTC) - timedelta(minutes=1))
    await api.sync()
    assert (await api.get(f"/v1/invitations/{old}")).json()["status"] == "expired"


async def test_history_lists_a_chargers_events_in_order(api):
    w = await world(api)
    api.log.revoke(w.charger, w.guest)
    await api.sync()
    body = (await api.get(f"/v1/chargers/{w.charger}/history", limit=2)).json()
    assert [e["type"] for e in body["events"]] == ["ChargerRegistered", "UserInvited"]
    rest = (await api.get(f"/v1/chargers/{w.charger}/history", cursor=body["next_cursor"])).json()
    assert [e["type"] for e in rest["events"]] == ["AccessGranted", "AccessRevoked"]
    assert rest["events"][1]["details"]["user_id"] == str(w.guest)


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
