"""Rotating the key-encryption key with the installed `access-keys` command: keys from
before wrapping existed (plaintext) and keys under the old KEK end up under the new one,
in several short batches, and everything stays readable with the new KEK alone, through
the store and through the log's readers; the old KEK alone then opens nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from services.access.domain.user import User
from services.access.eventlog.reader import EventLog
from services.access.executor import Executor
from services.access.handlers.context import Rules
from services.access.keys_cli import app
from services.access.store.application import open_store
from services.access.store.personal.rotation import key_counts
from services.access.store.personal.wrapping import KekError, WrappedKey, new_kek_entry, parse_keks
from tests.unit.access.scenario import SECRET, Scenario

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
OLD, NEW = new_kek_entry("k1"), new_kek_entry("k2")
PRE_WRAPPING_TABLE = (
    "CREATE TABLE person_keys (subject uuid PRIMARY KEY, key bytea NOT NULL,"
    " created_at timestamptz DEFAULT now())"
)


def installed_access_keys(url: str, kek: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script, as README's commands run it."""
    env = {**os.environ, "DATABASE_URL": url, "PERSON_KEY_KEK": kek}
    env.pop("PERSON_KEY_KEK_FILE", None)
    return subprocess.run([str(BIN / "access-keys"), *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def access_keys(url: str, kek: str, *args: str) -> Result:
    """The same command in this process (a second each saved on this machine)."""
    return CliRunner().invoke(app, list(args),
                              env={"DATABASE_URL": url, "PERSON_KEY_KEK": kek})


def scenario(url: str) -> Scenario:
    s = Scenario()
    s.store = open_store(url)
    s.executor = Executor(s.store, Rules(SECRET), clock=lambda: s.now)
    return s


@pytest.fixture
def kek(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("PERSON_KEY_KEK_FILE", raising=False)
    return monkeypatch


async def test_rotation_leaves_every_key_under_the_new_kek_and_the_old_one_unneeded(
    new_database: Any, kek: pytest.MonkeyPatch,
) -> None:
    url: str = new_database()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PRE_WRAPPING_TABLE)  # a database from before wrapping
        kek.setenv("PERSON_KEY_KEK", OLD)
        s = scenario(url)  # the store adds the KEK column
        users = {s.user(name=f"Person {i}"): i for i in range(7)}
        s.store.close()
        # Keys written before wrapping existed: plaintext, no KEK id.
        legacy = list(users)[:2]
        for subject in legacy:
            row = await conn.fetchrow("SELECT key, kek FROM person_keys WHERE subject = $1", subject)
            plain = parse_keks(OLD).unwrap(subject, WrappedKey(bytes(row["key"]), row["kek"]))
            await conn.execute("UPDATE person_keys SET key = $2, kek = NULL WHERE subject = $1",
                               subject, plain)

        s.store = open_store(url)  # plaintext keys read as they are, before any rotation
        for subject in legacy:
            loaded = s.store.load(subject)
            assert isinstance(loaded, User)
            assert loaded.name == f"Person {users[subject]}"
        s.store.close()
        keys = await conn.fetchval("SELECT count(*) FROM person_keys")
        assert await key_counts(conn) == {None: len(legacy), "k1": keys - len(legacy)}

        # The new KEK listed last: it wraps from now on; rotate in batches of 3.
        both = f"{OLD},{NEW}"
        rotated = installed_access_keys(url, both, "rotate", "--batch-size", "3", "--json")
        assert rotated.returncode == 0, rotated.stderr
        assert json.loads(rotated.stdout) == {"current": "k2", "rewrapped": keys, "remaining": 0}
        assert await key_counts(conn) == {"k2": keys}

        # The old KEK removed: the store and the log's readers read with the new one alone.
        kek.setenv("PERSON_KEY_KEK", NEW)
        s.store = open_store(url)
        for user_id, i in users.items():
            loaded = s.store.load(user_id)
            assert isinstance(loaded, User)
            assert loaded.name == f"Person {i}"
        s.store.close()
        names = {e.data["name"] for e in await EventLog().read(conn, 0, 1000)
                 if e.envelope.type == "UserRegistered"}
        assert names == {f"Person {i}" for i in users.values()}
        # ...and the old one alone opens nothing any more.
        kek.setenv("PERSON_KEY_KEK", OLD)
        with pytest.raises(KekError, match="'k2', which is not configured"):
            await EventLog().read(conn, 0, 1000)
    finally:
        await conn.close()


def test_keys_written_during_a_rotation_under_the_old_kek_are_reported_then_rewrapped(
    new_database: Any, kek: pytest.MonkeyPatch,
) -> None:
    url: str = new_database()
    kek.setenv("PERSON_KEY_KEK", OLD)
    first = scenario(url)
    first.user()
    rotated = json.loads(access_keys(url, f"{OLD},{NEW}", "rotate", "--json").stdout)
    # An instance not yet given the new KEK writes keys under the old one.
    first.user()
    first.store.close()
    status = json.loads(access_keys(url, f"{OLD},{NEW}", "status", "--json").stdout)
    assert status["keys"] == {"k1": rotated["rewrapped"], "k2": rotated["rewrapped"]}
    again = access_keys(url, f"{OLD},{NEW}", "rotate", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["rewrapped"] == rotated["rewrapped"]


def test_rotate_without_the_kek_of_a_stored_key_fails_and_changes_nothing(
    new_database: Any, kek: pytest.MonkeyPatch,
) -> None:
    url: str = new_database()
    kek.setenv("PERSON_KEY_KEK", OLD)
    s = scenario(url)
    user = s.user(name="Kept")
    s.store.close()
    failed = access_keys(url, NEW, "rotate")
    assert failed.exit_code == 2
    assert "'k1', which is not configured" in failed.output
    assert OLD.partition(":")[2] not in failed.output
    s.store = open_store(url)
    loaded = s.store.load(user)
    assert isinstance(loaded, User)
    assert loaded.name == "Kept"
    s.store.close()

