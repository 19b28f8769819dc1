"""The real parts a scenario breaks: a database, a Tansu broker, an SMTP sink, and each
service as an OS process of its own (so one can be killed without the other).

Everything started here is stopped in `close()` (services, broker, sink, the throwaway
PostgreSQL cluster) and the scenario's database is dropped: a scenario leaves nothing
behind, whatever it did to the parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller

from events.text import normalise_email
from events.topics import Topics
from services.local.postgres import LocalPostgres, start_cluster
from services.local.tansu import free_port, spawn_tansu, wait_for_port

BIN = Path(sys.executable).parent
TOKEN = "faults-token"  # noqa: S105 - a local, throwaway bearer token
ADMIN_URL = os.environ.get("FAULTS_ADMIN_DATABASE_URL") or os.environ.get(
    "TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def http_ok(url: str, token: str | None = None, timeout: float = 1.0) -> bool:
    request = urllib.request.Request(url)  # noqa: S310 - our own loopback URL
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def http_text(url: str, token: str | None = None, timeout: float = 2.0) -> str:
    request = urllib.request.Request(url)  # noqa: S310 - our own loopback URL
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bytes(response.read()).decode()
    except OSError:
        return ""


def metrics(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


# --- services ---------------------------------------------------------------------------


@dataclass
class ServiceProcess:
    """One console script (`access-service`, `notifications-service`) as a killable child."""

    name: str
    env: dict[str, str]
    log: Path
    ready_url: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exit_codes: list[int] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n=== start #{self.starts + 1} at {time.strftime('%X')} ===\n".encode())
            self.process = subprocess.Popen(  # noqa: S603 - our own console script
                [str(BIN / self.name)], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        self.starts += 1

    def wait_ready(self, timeout: float = 90.0) -> float:
        """Block until the ready URL answers 200; returns the seconds it took."""
        started = time.monotonic()
        while not http_ok(self.ready_url):
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{self.name} not ready in {timeout:.0f} s: {self.tail()}")
            time.sleep(0.1)
        return time.monotonic() - started

    def start(self, timeout: float = 90.0) -> float:
        self.spawn()
        return self.wait_ready(timeout)

    def kill(self) -> None:
        """kill -9 the service (its whole process group)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.exit_codes.append(self.process.wait(10))

    def terminate(self, timeout: float = 40.0) -> float:
        """SIGTERM and wait for the graceful drain; SIGKILL after `timeout`. Seconds taken."""
        if not self.alive:
            return 0.0
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_codes.append(self.process.wait(timeout))
        except subprocess.TimeoutExpired:
            self.kill()
            self.exit_codes.append(-9)
        return time.monotonic() - started

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# --- SMTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    message_id: str
    recipient: str
    at: float
    """time.time() of arrival."""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return self.sink.on_data(envelope)


class SmtpSink:
    """An aiosmtpd server (thread of its own) that records (Message-ID, recipient) of every
    e-mail it accepts; it can be taken down and brought back on the same port, and can
    answer 451 (try again later) for a while."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.received: list[Received] = []
        self.refused = 0
        self.refuse_until = 0.0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def on_data(self, envelope: Any) -> str:
        if time.time() < self.refuse_until:
            with self._lock:
                self.refused += 1
            return "451 4.7.1 Greylisted, please try again later"
        content = envelope.original_content or envelope.content
        message = email.message_from_bytes(content if isinstance(content, bytes)
                                           else content.encode())
        message_id = str(message.get("Message-ID", "")).strip()
        now = time.time()
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append(Received(message_id, normalise_email(rcpt), now))
            if not envelope.rcpt_tos:  # never expected; count it against the To header
                for _, addr in getaddresses(message.get_all("To", [])):
                    self.received.append(Received(message_id, normalise_email(addr), now))
        return "250 OK"

    @property
    def up(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                    data_size_limit=4 * 1024 * 1024)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def count(self) -> int:
        with self._lock:
            return len(self.received)


# --- broker ---------------------------------------------------------------------------------


class Broker:
    """A Tansu broker (memory storage) on a fixed port: pause, resume, kill, start again."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = spawn_tansu(self.port, self.log)
        wait_for_port("127.0.0.1", self.port)

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
                self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGCONT)  # a paused broker cannot hear SIGTERM
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


# --- the whole system ------------------------------------------------------------------------


@dataclass
class System:
    """One scenario's parts. `own_cluster`: a throwaway PostgreSQL on a port of its own
    (the scenario may restart or kill it) instead of a database on the shared server."""

    name: str
    var: Path
    own_cluster: bool = False
    notifications: bool = True
    database_url: str = ""
    cluster: LocalPostgres | None = None
    broker: Broker | None = None
    smtp: SmtpSink | None = None
    access: ServiceProcess | None = None
    notifier: ServiceProcess | None = None
    more_notifiers: list[ServiceProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    topics: Topics = field(default_factory=Topics)
    _admin_url: str = ADMIN_URL
    _db_name: str = ""
    _cluster_dir: Path | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    @property
    def notifications_api(self) -> str:
        return f"http://127.0.0.1:{self.env['NOTIFICATIONS_PORT']}"

    def start(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        self._start_database()
        self.broker = Broker(self.var / "tansu.log")
        self.broker.start()
        self.smtp = SmtpSink()
        self.smtp.start()
        prefix = f"f{uuid.uuid4().hex[:6]}."
        self.topics = Topics(prefix)
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "SMTP_URL": self.smtp.url,
            "API_PORT": str(free_port()),
            "API_TOKENS": TOKEN,
            "TOKEN_SECRET": uuid.uuid4().hex,
            "TOPIC_PREFIX": prefix,
            "CONSUMER_GROUP_PREFIX": f"faults-{uuid.uuid4().hex[:6]}",
            "PUBLIC_BASE_URL": "https://charge.example",
            "NOTIFICATIONS_PORT": str(free_port()),
            "NOTIFICATIONS_INSTANCE": "notifier-1",  # the same across its restarts
            "ACCESS_INSTANCE": "access-1",
            "PYTHONUNBUFFERED": "1",
        }
        self.access = ServiceProcess("access-service", self.env, self.var / "access.log",
                                     f"{self.api}/readyz")
        self.access.start()
        if self.notifications:
            self.notifier = ServiceProcess("notifications-service", self.env,
                                           self.var / "notifications.log",
                                           f"{self.notifications_api}/healthz")
            self.notifier.start()

    def add_notifier(self) -> ServiceProcess:
        """Another notification-service instance in the same consumer group, sharing the
        sent-log (its own metrics port), started and ready."""
        n = len(self.more_notifiers) + 2
        port = free_port()
        env = {**self.env, "NOTIFICATIONS_PORT": str(port),
               "NOTIFICATIONS_INSTANCE": f"notifier-{n}"}
        notifier = ServiceProcess("notifications-service", env,
                                  self.var / f"notifications-{n}.log",
                                  f"http://127.0.0.1:{port}/healthz")
        self.more_notifiers.append(notifier)
        notifier.start()
        return notifier

    def _start_database(self) -> None:
        if self.own_cluster:
            # Parents of the data dir must be traversable by `postgres` when we are root.
            self._cluster_dir = Path(tempfile.mkdtemp(prefix="faults-pg-"))
            self._cluster_dir.chmod(0o711)
            self.cluster = start_cluster(self._cluster_dir / "data", free_port(),
                                         self.var / "postgres.log")
            self._admin_url = self.cluster.url()
        self._db_name = f"ca_faults_{uuid.uuid4().hex[:10]}"
        asyncio.run(self._admin(f'CREATE DATABASE "{self._db_name}"'))
        self.database_url = f"{self._admin_url.rsplit('/', 1)[0]}/{self._db_name}"

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self._admin_url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url, timeout=10)

    def notifier_metrics(self) -> dict[str, float]:
        return metrics(http_text(f"{self.notifications_api}/metrics"))

    def access_metrics(self) -> dict[str, float]:
        return metrics(http_text(f"{self.api}/metrics", TOKEN))

    def close(self) -> None:
        """Stop everything we started and drop the database. Never raises."""
        for service in (*self.more_notifiers, self.notifier, self.access):
            if service is not None and service.alive:
                with contextlib.suppress(Exception):
                    service.terminate(20)
        if self.broker is not None:
            with contextlib.suppress(Exception):
                self.broker.stop()
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.stop()
        if self.cluster is not None and not self.cluster.running:
            with contextlib.suppress(Exception):
                self.cluster.start()
        if self._db_name:
            with contextlib.suppress(Exception):
                asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self._db_name}" WITH (FORCE)'))
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.stop()
        if self._cluster_dir is not None:
            shutil.rmtree(self._cluster_dir, ignore_errors=True)
