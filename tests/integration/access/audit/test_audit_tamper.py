"""Tampering with the stored log, or with the read models, is found and located."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from services.access.audit.cli import app
from tests.integration.access.audit.history import History, script

pytestmark = pytest.mark.integration

runner = CliRunner()


@pytest.fixture
def fresh_url(new_database: Any) -> str:
    url: str = new_database()
    return url


@pytest.fixture
async def fresh(fresh_url: str) -> History:
    return await script(fresh_url)


async def sql(history: History, statement: str, *args: Any) -> Any:
    conn = await asyncpg.connect(history.url)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


async def audit(history: History, *args: str) -> Result:
    """Run the CLI off the event loop (it runs its own)."""
    return await asyncio.to_thread(runner.invoke, app, list(args),
                                   env={"DATABASE_URL": history.url})


async def verify(history: History) -> tuple[int, dict]:
    result = await audit(history, "verify", "--json")
    return result.exit_code, json.loads(result.stdout)


async def position_of(history: History, type_: str) -> int:
    return int(await sql(history, "SELECT min(notification_id) FROM chargeraccess_events "
                                  "WHERE topic LIKE $1", f"%.{type_}"))


async def test_changing_one_stored_state_breaks_verify_at_exactly_that_position(fresh):
    accepted = await position_of(fresh, "InvitationAccepted")
    # Someone quietly makes Ola's acceptance grant manage instead of charge.
    await sql(fresh, "UPDATE chargeraccess_events SET state = convert_to(replace("
                     "convert_from(state, 'UTF8'), '\"charge\"', '\"manage\"'), 'UTF8') "
                     "WHERE notification_id = $1 RETURNING 1", accepted)

    code, verdict = await verify(fresh)

    assert code == 1
    assert verdict["ok"] is False
    assert verdict["broken_at"] == accepted
    assert verdict["count"] == accepted - 1
    assert "does not match" in verdict["problem"]


async def test_deleting_a_stored_event_breaks_verify_at_its_position(fresh):
    moved = await position_of(fresh, "ChargerMovedToGroup")
    await sql(fresh, "DELETE FROM chargeraccess_events WHERE notification_id = $1", moved)

    code, verdict = await verify(fresh)

    assert code == 1
    assert verdict["broken_at"] == moved
    assert "missing" in verdict["problem"]


async def test_deleting_an_event_with_its_link_breaks_verify_at_the_next_one(fresh):
    moved = await position_of(fresh, "ChargerMovedToGroup")
    await sql(fresh, "DELETE FROM chargeraccess_events WHERE notification_id = $1", moved)
    await sql(fresh, "DELETE FROM event_chain WHERE notification_id = $1", moved)

    code, verdict = await verify(fresh)

    assert code == 1
    assert verdict["broken_at"] == moved + 1


async def test_rebuild_check_names_the_table_and_rows_that_drifted(fresh):
    await sql(fresh, "UPDATE read.access SET level = 'charge' WHERE user_id = $1", fresh.eva)

    result = await audit(fresh, "rebuild", "--check", "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    drifted = [t for t in report["tables"] if not t["equal"]]
    assert [t["table"] for t in drifted] == ["access"]
    assert str(fresh.eva) in drifted[0]["only_live"][0]
    assert str(fresh.eva) in drifted[0]["only_rebuilt"][0]
    scratch = await sql(fresh, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'read_%'")
    assert scratch == 0
