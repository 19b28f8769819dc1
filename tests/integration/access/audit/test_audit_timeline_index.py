"""The timeline is read from the indexes where they hold the log, replayed where not.

The scripted history's read models are kept by the projection as it goes, so the CLI
answers from the indexes; `--replay` gives the same JSON. A database whose read models
were kept since before the address index existed (`index_since`), or one without read
models, is answered by the replay instead.
"""

from __future__ import annotations

import json

import asyncpg
import pytest
from typer.testing import CliRunner

from services.access.audit.cli import app
from services.access.audit.coverage import IndexCoverage
from services.access.audit.indexed_timeline import indexed_up_to
from services.access.eventlog.reader import EventLog
from services.access.projection.schema import create_schema
from tests.integration.access.audit.history import History

pytestmark = pytest.mark.integration

runner = CliRunner()


def timeline_json(history: History, *args: str) -> str:
    result = runner.invoke(app, ["timeline", *args, "--json"],
                           env={"DATABASE_URL": history.url})
    assert result.exit_code == 0, result.stdout
    return result.stdout


async def test_the_scripted_history_is_answered_from_the_indexes(history):
    conn = await asyncpg.connect(history.url)
    try:
        assert await indexed_up_to(conn, "read") == await EventLog().last_published(conn)
    finally:
        await conn.close()


@pytest.mark.parametrize(("option", "who"), [
    ("--charger", "garasje"), ("--charger", "carport"), ("--user", "kari"),
    ("--user", "ola"), ("--user", "eva"), ("--user", "per"), ("--group", "fleet"),
    ("--invitation", "invitation"), ("--invitation", "eva_invitation")])
def test_replay_gives_the_same_timeline(history, option, who):
    subject = str(getattr(history, who))
    indexed = timeline_json(history, option, subject)
    assert json.loads(indexed)["events"], who
    assert indexed == timeline_json(history, option, subject, "--replay")


async def test_read_models_older_than_the_address_index_are_not_read(history):
    conn = await asyncpg.connect(history.url)
    kept = conn.transaction()
    await kept.start()
    try:
        await conn.execute("UPDATE read.index_since SET position = 5")
        assert await indexed_up_to(conn, "read") is None
    finally:
        await kept.rollback()  # the module's database stays as it was
        await conn.close()


async def test_a_database_without_read_models_is_replayed(history):
    conn = await asyncpg.connect(history.url)
    try:
        assert await indexed_up_to(conn, "no_read_models_here") is None
    finally:
        await conn.close()


@pytest.mark.parametrize("index", ["email_positions", "name_positions"])
async def test_an_older_database_records_from_where_an_index_is_whole(db, schema, index):
    """Read models kept before an index existed gain it empty at the next start, with the
    position it starts at; a fresh schema (a rebuild's) starts at 0."""
    since = f"SELECT position FROM {schema}.index_since WHERE name = '{index}'"
    assert await db.fetchval(f"SELECT max(position) FROM {schema}.index_since") == 0
    await db.execute(f"DROP TABLE {schema}.{index}")
    await db.execute(f"UPDATE {schema}.tracking SET position = 7 WHERE projection = 'access'")
    await create_schema(db, schema)
    assert await db.fetchval(since) == 7
    assert await db.fetchval(f"SELECT count(*) FROM {schema}.{index}") == 0
    assert await indexed_up_to(db, schema) is None  # the timeline replays until a rebuild
    await create_schema(db, schema)  # and keeps it at every later start
    assert await db.fetchval(since) == 7


async def test_coverage_is_asked_until_seen_whole_then_remembered(history):
    """A process asks whether the indexes hold the log from its start until they do (a
    rebuild may swap such indexes in), then no more: once whole, always whole."""
    conn = await asyncpg.connect(history.url)
    coverage = IndexCoverage()
    kept = conn.transaction()
    await kept.start()
    try:
        await conn.execute("UPDATE read.index_since SET position = 5")
        assert await indexed_up_to(conn, "read", coverage) is None
        await conn.execute("UPDATE read.index_since SET position = 0")  # as a rebuild would
        tracked = await indexed_up_to(conn, "read", coverage)
        assert tracked == await EventLog().last_published(conn)
        await conn.execute("UPDATE read.index_since SET position = 5")
        assert await indexed_up_to(conn, "read", coverage) == tracked  # not asked again
        assert await indexed_up_to(conn, "read", IndexCoverage()) is None  # a new process asks
    finally:
        await kept.rollback()  # the module's database stays as it was
        await conn.close()
