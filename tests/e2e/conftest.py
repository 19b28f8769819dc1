"""The whole system as `make run` starts it (the shared harness), against a fresh
database, the session's broker and an SMTP sink of its own, started once per test module;
or the access service alone as a process of its own, for the tests that kill it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.database import Database
from harness.system import System as Harness
from services.local.smtp_sink import SmtpSink
from tests.kafka_helpers import CommandClient

TOKEN = "e2e-token"
SECRET = "e2e-token-secret"

System = Harness[SmtpSink]


def access_alone(database_url: str, kafka: str, name: str, var: Path) -> System:
    """The access service as its own OS process (`.access`), which a test can kill; its
    own topics, consumer group and port."""
    return System(var, SmtpSink(), name=name, token=TOKEN, token_secret=f"{name}-secret",
                  supervised=False, notifications=False, kafka=kafka,
                  database=Database(url=database_url))


@pytest.fixture(scope="module")
def system(new_database: Any, kafka_bootstrap: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System(tmp_path_factory.mktemp("var"), SmtpSink(), name="e2e", token=TOKEN,
                     token_secret=SECRET, kafka=kafka_bootstrap,
                     database=Database(url=new_database()))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
async def commands(system: System) -> AsyncIterator[CommandClient]:
    client = CommandClient(system.kafka, system.topics)
    await client.start()
    yield client
    await client.stop()


async def eventually(check: Any, timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.1)
