"""After ForgetUser, the auditors' tools show the person only as a pseudonym."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from services.access.audit.cli import app
from tests.integration.access.audit.history import History, PgScenario, script

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_url(new_database: Any) -> str:
    url: str = new_database()
    return url


@pytest.fixture
async def forgotten(fresh_url: str) -> History:
    history = await script(fresh_url)
    s = PgScenario(fresh_url)
    s.ok("ForgetUser", history.ola, user_id=history.ola)
    s.store.close()
    return history


async def test_a_forgotten_users_timeline_and_export_hold_no_trace_of_their_email_or_name(forgotten):
    runner = CliRunner()
    env = {"DATABASE_URL": forgotten.url}
    timeline = await asyncio.to_thread(runner.invoke, app,
                                       ["timeline", "--user", str(forgotten.ola), "--json"], env=env)
    export = await asyncio.to_thread(runner.invoke, app, ["export"], env=env)
    events = json.loads(timeline.stdout)["events"]
    text = timeline.stdout + export.stdout
    assert "ola@example.no" not in text.lower()
    assert "Ola " not in " ".join(e["sentence"] for e in events)
    assert events[-1]["type"] == "UserForgotten"
    assert events[0]["sentence"].startswith("Forgotten person ")
