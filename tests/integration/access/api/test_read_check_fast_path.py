"""The access check's fast path answers byte for byte what the app's own route answers,
and hands every request it does not take plainly (errors, waits, odd spellings) to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.access.api import create_app
from services.access.config import AccessSettings
from services.access.projection.runner import ProjectionRunner
from tests.integration.access.api.query_api import AUTH, TOKEN, Api, InMemoryLog, world

pytestmark = pytest.mark.integration


class Both:
    """The same read models behind two apps: with the fast path, and without (reference)."""

    def __init__(self, fast: httpx.AsyncClient, reference: httpx.AsyncClient, app: Any) -> None:
        self.fast, self.reference, self.app = fast, reference, app

    async def compare(self, path: str, headers: dict[str, str] | None = None,
                      method: str = "GET") -> httpx.Response:
        sent = AUTH if headers is None else headers
        fast = await self.fast.request(method, path, headers=sent)
        reference = await self.reference.request(method, path, headers=sent)
        assert (fast.status_code, fast.headers.raw, fast.content) == (
            reference.status_code, reference.headers.raw, reference.content), path
        return fast


@pytest.fixture
async def both(pool: asyncpg.Pool, schema: str) -> AsyncIterator[tuple[Both, Api]]:
    log = InMemoryLog()
    runner = ProjectionRunner(pool, log.read, schema=schema, batch_size=50, poll_interval=0.05)

    async def readiness() -> dict[str, bool]:
        return {}

    settings = AccessSettings(api_tokens=frozenset({TOKEN, "another-token"}))
    apps = [create_app(pool, settings, runner, readiness, schema=schema, wait_timeout=0.2,
                       fast_check=fast) for fast in (True, False)]
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0]), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[1]), base_url="http://a") as b,
    ):
        yield Both(a, b, apps[0]), Api(a, log, runner, {})
    await runner.stop()


class Routed:
    """Counts the checks that reached the app's route (the fast path never calls it)."""

    def __init__(self, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        access = app.state.read.access
        effective = access.effective

        async def counted(*args: Any) -> Any:
            self.calls += 1
            return await effective(*args)

        monkeypatch.setattr(access, "effective", counted)


async def test_plain_checks_are_answered_by_the_fast_path_exactly_as_by_the_app(both, monkeypatch):
    b, api = both
    w = await world(api)
    routed = Routed(b.app, monkeypatch)
    position = api.log.position
    for user in (w.owner, w.guest, w.stranger):
        for level in ("", "&level=charge", "&level=manage"):
            for wait in ("", f"&min_position={position}", "&min_position=0"):
                await b.compare(f"/v1/access/check?user_id={user}&charger_id={w.charger}{level}{wait}")
    await b.compare(f"/v1/access/check?charger_id={w.charger}&user_id={w.owner}&extra=1")
    await b.compare(f"/v1/access/check?user_id={w.owner}&charger_id={w.charger}",
                    {"Authorization": "Bearer another-token"})
    assert routed.calls == 0


async def test_everything_else_goes_to_the_app_and_answers_the_same(both, monkeypatch):
    b, api = both
    w = await world(api)
    routed = Routed(b.app, monkeypatch)
    u, c = w.owner, w.charger
    plain = f"/v1/access/check?user_id={u}&charger_id={c}"
    odd = [
        f"/v1/access/check?user_id={str(u).upper()}&charger_id={c}",  # valid, but not plain
        f"/v1/access/check?user_id={u.hex}&charger_id={c}",
        f"/v1/access/check?user_id=%7B{u}%7D&charger_id={c}",
        f"/v1/access/check?user_id={u}&user_id={w.guest}&charger_id={c}",
        f"{plain}&level=Manage",
        f"{plain}&min_position=+1",
    ]
    for path in odd:
        assert (await b.compare(path)).status_code in (200, 422)
    assert routed.calls >= 3  # the valid spellings reached the route
    errors = [
        (f"/v1/access/check?user_id={u}", None),
        (f"{plain}&level=owner", None),
        (f"{plain}&min_position=-1", None),
        (f"{plain}&min_position={api.log.position + 5}", None),  # out of reach: 503 after the wait
        (plain, {}),
        (plain, {"Authorization": "Bearer wrong"}),
        (plain, {"Authorization": f"bearer {TOKEN}"}),
        (plain, {"Authorization": f"Bearer  {TOKEN}"}),
        (plain, {"Authorization": f"Basic {TOKEN}"}),
    ]
    for path, headers in errors:
        response = await b.compare(path, headers)
        assert response.status_code in (200, 401, 422, 503), path
    assert (await b.compare(plain, method="POST")).status_code == 405
