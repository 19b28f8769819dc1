"""The whole system as `make run` starts it, against a fresh database, a broker port of
its own and a real aiosmtpd server, started once per test module."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from events.topics import Topics
from services.local.tansu import free_port
from tests.conftest import MailBox
from tests.kafka_helpers import CommandClient

BIN = Path(sys.executable).parent
TOKEN = "e2e-token"
SECRET = "e2e-token-secret"


@dataclass
class System:
    api: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    mailbox: MailBox
    log: Path

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api, headers={"Authorization": f"Bearer {TOKEN}"},
                                 timeout=10)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_ready(api: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not _ready(f"{api}/readyz"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"system did not become ready:\n{log.read_text()[-5000:]}")
        time.sleep(0.25)


def system_env(database_url: str, kafka: str, smtp_url: str, var: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "SMTP_URL": smtp_url,
        "API_PORT": str(free_port()),
        "API_TOKENS": TOKEN,
        "TOKEN_SECRET": SECRET,
        "TOPIC_PREFIX": f"e2e{uuid.uuid4().hex[:6]}.",
        "CONSUMER_GROUP_PREFIX": f"e2e-{uuid.uuid4().hex[:6]}",
        "PUBLIC_BASE_URL": "https://charge.example",
    })
    return env


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[MailBox, str]]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture(scope="module")
def system(new_database: Any, kafka_bootstrap: str, mailbox: tuple[MailBox, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    var = tmp_path_factory.mktemp("var")
    env = system_env(new_database(), kafka_bootstrap, mailbox[1], var)
    log = var / "system.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(BIN / "charger-access-run"), "--var-dir", str(var)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    api = f"http://127.0.0.1:{env['API_PORT']}"
    try:
        wait_ready(api, process, log)
        yield System(api, env, process, mailbox[0], log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
async def commands(system: System) -> AsyncIterator[CommandClient]:
    client = CommandClient(system.env["KAFKA_BOOTSTRAP_SERVERS"], Topics(system.env["TOPIC_PREFIX"]))
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
