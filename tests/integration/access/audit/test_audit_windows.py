"""Auditors and time-bound shares against the real PostgreSQL store: access-at-T before,
inside and after a window (CLI and API alike), the boundary events on the timeline, and
the hash chain over them (verify, export)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from services.access.api import create_app
from services.access.audit.cli import app
from services.access.config import AccessSettings
from services.access.domain.base import Cause
from services.access.store.chain import GENESIS, link
from tests.integration.access.audit.history import PgScenario
from tests.schedules import WEEKEND
from tests.unit.access.audit.shares import iso, run_scheduler, share

pytestmark = pytest.mark.integration

MONDAY = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
SATURDAY_15 = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
BEFORE = "2025-03-02T10:00:00Z"  # Sunday 11:00 in Oslo, before valid_from
INSIDE = "2025-03-08T10:00:00Z"  # Saturday 11:00 in Oslo
OUTSIDE = "2025-03-11T10:00:00Z"  # Tuesday, between valid_from and valid_until
AFTER = "2025-03-16T10:00:00Z"  # Sunday 11:00 in Oslo, after valid_until
AUDITOR = {"Authorization": "Bearer auditor-token"}


@dataclass
class Lent:
    url: str
    kari: UUID
    ola: UUID
    garasje: UUID
    invitation: UUID


@pytest.fixture(scope="module")
def lent(new_database: Any) -> Lent:
    """Kari lends Garasje to Ola on weekends for two weeks; the scheduler marks every
    boundary half a second late and sends the ending notice."""
    url: str = new_database()
    s = PgScenario(url)
    kari, ola = s.user(name="Kari"), s.user(name="Ola", email="ola@example.no")
    garasje = s.charger(kari, name="Garasje")
    invitation = share(s, kari, ola, [garasje], valid_from=MONDAY, valid_until=SATURDAY_15,
                       schedule=WEEKEND)
    run_scheduler(s, garasje, ola, MONDAY + timedelta(days=11))
    s.now = SATURDAY_15 - timedelta(hours=23)
    charger = s.charger_state(garasje)
    assert charger.notice_ending(s.user_state(ola).person(), s.now, timedelta(hours=24),
                                 Cause("scheduler", f"n-{uuid4()}", s.now))
    s.store.save(charger)
    run_scheduler(s, garasje, ola, SATURDAY_15 + timedelta(days=1))
    s.store.close()
    return Lent(url, kari, ola, garasje, invitation)


runner = CliRunner()


def audit(lent: Lent, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"DATABASE_URL": lent.url})
    return result.exit_code, result.stdout


def access_at(lent: Lent, at: str) -> dict[str, Any]:
    code, out = audit(lent, "access-at", "--charger", str(lent.garasje), "--at", at, "--json")
    assert code == 0, out
    answer: dict[str, Any] = json.loads(out)
    return answer


def olas(answer: dict[str, Any], lent: Lent) -> dict[str, Any]:
    [entry] = [e for e in answer["users"] if e["user_id"] == str(lent.ola)]
    return entry


def test_access_at_before_inside_and_after_the_window(lent: Lent) -> None:
    why = {"source": "share", "invitation_id": str(lent.invitation), "level": "charge",
           "valid_from": iso(MONDAY), "valid_until": iso(SATURDAY_15), "schedule": WEEKEND}
    for at, in_effect in ((BEFORE, False), (INSIDE, True), (OUTSIDE, False), (AFTER, False)):
        entry = olas(access_at(lent, at), lent)
        assert entry == {"user_id": str(lent.ola), "level": "charge", "in_effect": in_effect,
                         "why": [why]}, at
    owner = [e for e in access_at(lent, OUTSIDE)["users"] if e["user_id"] == str(lent.kari)]
    assert owner[0]["in_effect"] is True


def test_access_at_table_shows_the_window_and_whether_it_is_in_effect(lent: Lent) -> None:
    inside = audit(lent, "access-at", "--charger", str(lent.garasje), "--at", INSIDE)[1]
    outside = audit(lent, "access-at", "--charger", str(lent.garasje), "--at", OUTSIDE)[1]
    flat = " ".join(inside.split())
    assert "Europe/Oslo" in flat
    assert "(not in effect)" not in flat
    assert "(not in effect)" in " ".join(outside.split())


@pytest.fixture
async def client(lent: Lent) -> AsyncIterator[httpx.AsyncClient]:
    class Caught:
        position = 0

        async def wait_for(self, position: int, timeout: float) -> bool:
            return True

    async def readiness() -> dict[str, bool]:
        return {}

    settings = AccessSettings(api_tokens=frozenset({"api-token"}),
                              audit_tokens=frozenset({"auditor-token"}))
    async with asyncpg.create_pool(lent.url, min_size=1, max_size=2) as pool:
        api = create_app(pool, settings, Caught(), readiness)
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def test_the_api_answers_before_inside_and_after_the_window(client: httpx.AsyncClient,
                                                                   lent: Lent) -> None:
    for at, in_effect in ((BEFORE, False), (INSIDE, True), (OUTSIDE, False), (AFTER, False)):
        response = await client.get("/v1/audit/access-at", headers=AUDITOR,
                                    params={"charger_id": str(lent.garasje), "at": at})
        assert response.status_code == 200, response.text
        entry = olas(response.json(), lent)
        assert (entry["level"], entry["in_effect"]) == ("charge", in_effect), at
        assert entry["why"][0]["schedule"] == WEEKEND
        by_user = await client.get("/v1/audit/access-at", headers=AUDITOR,
                                   params={"user_id": str(lent.ola), "at": at})
        [charger] = by_user.json()["chargers"]
        assert (charger["charger_id"], charger["in_effect"]) == (str(lent.garasje), in_effect)


def test_the_timeline_tells_the_window_its_boundaries_and_the_notice(lent: Lent) -> None:
    code, out = audit(lent, "timeline", "--user", str(lent.ola), "--json")
    assert code == 0
    events = json.loads(out)["events"]
    by_type: dict[str, list[str]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["sentence"])
    assert by_type["AccessGranted"] == [
        "Ola got charge access to Garasje by accepting an invitation, from 2025-03-03 13:00 "
        "CET until 2025-03-15 13:00 CET on Sat, Sun 08:00\u201320:00 (Europe/Oslo)"]
    assert len(by_type["ShareCameIntoEffect"]) == 3
    assert len(by_type["ShareWentOutOfEffect"]) == 3
    assert by_type["ShareWentOutOfEffect"][-1].endswith("when its window closed for good")
    assert by_type["ShareEnding"] == [
        "Ola was told that their charge share on Garasje ends at 2025-03-15 13:00 CET"]


def test_the_chain_verifies_over_the_boundary_events(lent: Lent) -> None:
    code, out = audit(lent, "export")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    types = [line["event"]["type"] for line in lines if line["published"]]
    assert {"ShareCameIntoEffect", "ShareWentOutOfEffect", "ShareEnding"} <= set(types)
    previous = GENESIS
    for line in lines:
        previous = link(previous, line["position"], line["originator_id"],
                        line["originator_version"], line["topic"],
                        base64.b64decode(line["state"]))
        assert previous.hex() == line["hash"], line["position"]
    code, out = audit(lent, "verify", "--json")
    verdict = json.loads(out)
    assert code == 0
    assert (verdict["ok"], verdict["count"], verdict["last_hash"]) == (
        True, len(lines), lines[-1]["hash"])
