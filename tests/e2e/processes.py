"""The access service as its own OS process, for tests that kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

from services.local.tansu import free_port
from tests.e2e.conftest import BIN, TOKEN, wait_ready


class AccessProcess:
    """The access service as its own OS process, which a test can kill."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([str(BIN / "access-service")], env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)
        wait_ready(self.api, self.process, self.log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def access_env(database_url: str, kafka: str, name: str) -> dict[str, str]:
    """Environment for one access service of its own: topics, group and port."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "API_PORT": str(free_port()), "API_TOKENS": TOKEN, "TOKEN_SECRET": f"{name}-secret",
        "TOPIC_PREFIX": f"{name}{uuid.uuid4().hex[:6]}.",
        "CONSUMER_GROUP_PREFIX": f"{name}-{uuid.uuid4().hex[:6]}",
    })
    return env
