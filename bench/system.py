"""The real system, started as `make run` starts it, on parts of the benchmark's own.

A fresh database on the local PostgreSQL (a cluster under var/bench/pg when none
answers), a Tansu broker on a free port, a counting SMTP sink, then `charger-access-run`
(the supervisor `make run` uses) with those exported, so it starts exactly the two
services. Everything is stopped and the database dropped on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.smtp_sink import SinkProcess
from events.topics import Topics
from services.local.infra import tcp_answers
from services.local.postgres import LocalPostgres
from services.local.tansu import free_port, start_tansu

BIN = Path(sys.executable).parent
TOKEN = "bench-token"  # noqa: S105 - a local, throwaway bearer token
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
SERVICES = ("access-service", "notifications-service")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own URL
            return bool(response.status == 200)
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB; empty when it is gone."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                out[name] = int(value.split()[0])
    except OSError:
        return {}
    return out


@dataclass
class System:
    var: Path
    database_url: str = ""
    api: str = ""
    kafka: str = ""
    env: dict[str, str] = field(default_factory=dict)
    topics: Topics = field(default_factory=Topics)
    sink: SinkProcess | None = None
    _admin_url: str = ADMIN_URL
    _db_name: str = ""
    _cluster: LocalPostgres | None = None
    _tansu: subprocess.Popen[bytes] | None = None
    _run: subprocess.Popen[bytes] | None = None

    @property
    def log_dir(self) -> Path:
        return self.var / "log"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self._start_database()
        port = free_port()
        self._tansu = start_tansu(port, self.log_dir / "tansu.log")
        self.kafka = f"127.0.0.1:{port}"
        self.sink = SinkProcess(free_port())
        self.sink.start()
        prefix = f"bench{uuid.uuid4().hex[:6]}."
        self.topics = Topics(prefix)
        api_port = free_port()
        self.api = f"http://127.0.0.1:{api_port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "SMTP_URL": self.sink.url,
            "API_PORT": str(api_port),
            "API_TOKENS": TOKEN,
            "TOKEN_SECRET": uuid.uuid4().hex,
            "TOPIC_PREFIX": prefix,
            "CONSUMER_GROUP_PREFIX": f"bench-{uuid.uuid4().hex[:6]}",
            "PUBLIC_BASE_URL": "https://charge.example",
            "PYTHONUNBUFFERED": "1",
        }
        with (self.log_dir / "system.log").open("wb") as out:
            self._run = subprocess.Popen(  # noqa: S603 - our own console script
                [str(BIN / "charger-access-run"), "--var-dir", str(self.var / "run")],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self._wait_ready(started)

    def _start_database(self) -> None:
        if not tcp_answers("127.0.0.1", 5432) and "BENCH_ADMIN_DATABASE_URL" not in os.environ:
            self._cluster = LocalPostgres(self.var / "pg", free_port(), self.log_dir / "pg.log")
            self._cluster.start()
            self._admin_url = self._cluster.url()
        self._db_name = f"ca_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(self._admin(f'CREATE DATABASE "{self._db_name}"'))
        self.database_url = f"{self._admin_url.rsplit('/', 1)[0]}/{self._db_name}"

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self._admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def _wait_ready(self, started: float, timeout: float = 150.0) -> None:
        assert self._run is not None
        while not _ready(f"{self.api}/readyz"):
            if self._run.poll() is not None or time.monotonic() - started > timeout:
                log = (self.log_dir / "system.log").read_text(errors="replace")[-4000:]
                raise RuntimeError(f"the system did not become ready:\n{log}")
            time.sleep(0.25)
        # The notification service has no readiness endpoint: wait for its group join.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(self.service_pids()) < len(SERVICES):
            time.sleep(0.25)

    def service_pids(self) -> dict[str, int]:
        """PIDs of the services the supervisor started, by console-script name."""
        if self._run is None:
            return {}
        found: dict[str, int] = {}
        for pid in _children(self._run.pid):
            command = _cmdline(pid)
            for name in SERVICES:
                if f"/{name}" in command or command.startswith(name):
                    found[name] = pid
        return found

    def stop(self) -> None:
        """Stop the services, the broker, the sink; drop the database. Never raises."""
        if self._run is not None and self._run.poll() is None:
            self._run.send_signal(signal.SIGTERM)
            try:
                self._run.wait(40)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._run.pid, signal.SIGKILL)
                self._run.wait(10)
        if self._tansu is not None:
            self._tansu.terminate()
            try:
                self._tansu.wait(10)
            except subprocess.TimeoutExpired:
                self._tansu.kill()
                self._tansu.wait(5)
        if self.sink is not None:
            self.sink.stop()
        if self._db_name:
            with contextlib.suppress(Exception):
                asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self._db_name}" WITH (FORCE)'))
        if self._cluster is not None:
            self._cluster.stop()
