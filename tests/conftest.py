"""Real parts for the tests: a database of its own per run, a broker, an SMTP sink."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.local.smtp_sink import SmtpSink
from services.local.tansu import free_port, start_tansu
from tests.local_clusters import cluster_folder

# The tests run throwaway systems on development secrets (services/common/config.py refuses
# them otherwise); the tests of that refusal unset it.
os.environ.setdefault("APP_ENV", "dev")

ADMIN_DSN = os.environ.get("TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin_dsn() -> str:
    return ADMIN_DSN


def _admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(_admin_dsn())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # Tests may call this from inside a running event loop: use a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def new_database() -> Iterator[Any]:
    """Makes fresh databases on demand; all are dropped at the end of the session."""
    made: list[str] = []
    base = _admin_dsn().rsplit("/", 1)[0]

    def make() -> str:
        name = f"ca_test_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{base}/{name}"

    yield make
    for name in made:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(new_database: Any) -> str:
    """A fresh database for this test run, dropped afterwards."""
    url: str = new_database()
    return url


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Tansu broker on a port of its own, for the whole session."""
    port = free_port()
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    process = start_tansu(port, log)
    yield f"127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """The SMTP sink on a port of its own, recording what it is sent."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    """A folder for a PostgreSQL cluster of the test's own (`tests.local_clusters`)."""
    with cluster_folder("ca-pg-test-") as folder:
        yield folder
