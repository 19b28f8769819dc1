"""The whole system on parts of its own: a database, a Tansu broker, an SMTP sink and the
three services (access, notifications, OCPP gateway), with the environment `make run`
would export, stopped and dropped at the end.

Two ways to run the services. `supervised` (the default) starts `charger-access-run`,
the supervisor `make run` uses, with those variables set, so it starts exactly the three
services (the access service as its command side and its read side, `ACCESS_ROLE`): what
the end-to-end tests and the benchmark measure. Otherwise each service is an OS process of
its own (`ServiceProcess`, the access service as one unless `extra_env` names a role), so a
fault scenario or a test can kill one without the other, and start more instances.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import httpx

from charger_access_client.topics import Topics
from harness.database import Database
from harness.processes import (
    BIN,
    Broker,
    ServiceProcess,
    cmdline,
    environ,
    http_ok,
    http_text,
    metrics,
    stop_process,
)
from services.local.supervisor import children
from services.local.tansu import free_port

SERVICES = ("access-service", "access-queries", "notifications-service", "ocpp-gateway")
"""The processes `charger-access-run` starts, by name: the access service's read side
(`ACCESS_ROLE=queries`) as `access-queries`, its command side as `access-service`."""


class Sink(Protocol):
    """What the system needs of an SMTP sink: where it is, and how much arrived."""

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...


SinkT = TypeVar("SinkT", bound=Sink)


@dataclass
class System(Generic[SinkT]):
    var: Path
    sink: SinkT
    name: str = "harness"
    """Tags the topics and the consumer groups, so runs on one broker never meet."""
    token: str = "harness-token"  # noqa: S105 - a local, throwaway bearer token
    token_secret: str = ""
    """TOKEN_SECRET; empty: a random one."""
    supervised: bool = True
    notifications: bool = True
    """Without `supervised`: start the notification service too."""
    gateway: bool = False
    """Without `supervised`: start the OCPP gateway too."""
    kafka: str = ""
    """A broker to use; empty: a Tansu broker of the system's own (`broker`)."""
    database: Database = field(default_factory=Database)
    extra_env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 90.0
    stop_timeout: float = 30.0
    env: dict[str, str] = field(default_factory=dict)
    topics: Topics = field(default_factory=Topics)
    broker: Broker | None = None
    access: ServiceProcess | None = None
    more_access: list[ServiceProcess] = field(default_factory=list)
    notifier: ServiceProcess | None = None
    more_notifiers: list[ServiceProcess] = field(default_factory=list)
    ocpp: ServiceProcess | None = None
    more_gateways: list[ServiceProcess] = field(default_factory=list)
    run: subprocess.Popen[bytes] | None = None
    """The supervisor, when `supervised`."""

    @property
    def log_dir(self) -> Path:
        return self.var / "log"

    @property
    def database_url(self) -> str:
        return self.database.url

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    @property
    def commands_api(self) -> str:
        """Where the access service's command side answers `/readyz` and `/metrics` (its
        command counts, relay, local lists): the query API's process unless supervised."""
        if self.run is None:
            return self.api
        return f"http://127.0.0.1:{self.env['ACCESS_COMMANDS_PORT']}"

    @property
    def notifications_api(self) -> str:
        return f"http://127.0.0.1:{self.env['NOTIFICATIONS_PORT']}"

    @property
    def gateway_http(self) -> str:
        """The OCPP gateway's port as plain HTTP (`/healthz`, `/metrics`)."""
        return f"http://127.0.0.1:{self.env['OCPP_PORT']}"

    @property
    def ocpp_url(self) -> str:
        """Where a charger connects: append its serial number."""
        return f"ws://127.0.0.1:{self.env['OCPP_PORT']}/ocpp/"

    # --- up ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every part and return once the services are ready; on failure, whatever
        started is left for `stop()`."""
        started = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.database.create(self.log_dir)
        if not self.kafka:
            self.broker = Broker(self.log_dir / "tansu.log")
            self.broker.start()
            self.kafka = self.broker.bootstrap
        self.sink.start()
        tag = uuid.uuid4().hex[:6]
        self.topics = Topics(f"{self.name}{tag}.")
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database.url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "SMTP_URL": self.sink.url,
            "API_PORT": str(free_port()),
            "ACCESS_COMMANDS_PORT": str(free_port()),
            "API_TOKENS": self.token,
            "TOKEN_SECRET": self.token_secret or uuid.uuid4().hex,
            "TOPIC_PREFIX": self.topics.prefix,
            "CONSUMER_GROUP_PREFIX": f"{self.name}-{tag}",
            "PUBLIC_BASE_URL": "https://charge.example",
            "NOTIFICATIONS_PORT": str(free_port()),
            "OCPP_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
            "APP_ENV": "dev",  # a throwaway system: the development KEK is allowed
            **self.extra_env,
        }
        if self.supervised:
            self._start_supervised(started)
        else:
            self._start_separate()

    def _start_supervised(self, started: float) -> None:
        log = self.log_dir / "system.log"
        with log.open("wb") as out:
            self.run = subprocess.Popen(  # noqa: S603 - our own console script
                [str(BIN / "charger-access-run"), "--var-dir", str(self.var / "run")],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        while not (http_ok(f"{self.api}/readyz") and http_ok(f"{self.commands_api}/readyz")):
            if self.run.poll() is not None or time.monotonic() - started > self.ready_timeout:
                tail = log.read_text(errors="replace")[-5000:]
                raise RuntimeError(f"the system did not become ready:\n{tail}")
            time.sleep(0.25)
        # /readyz is the access service's; wait until the other services run too.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(self.service_pids()) < len(SERVICES):
            time.sleep(0.25)
        while time.monotonic() < deadline and not http_ok(f"{self.gateway_http}/healthz"):
            time.sleep(0.1)

    def _start_separate(self) -> None:
        self.access = ServiceProcess("access-service", self.env, self.log_dir / "access.log",
                                     f"{self.api}/readyz")
        self.access.start(self.ready_timeout)
        if self.notifications:
            self.notifier = ServiceProcess("notifications-service", self.env,
                                           self.log_dir / "notifications.log",
                                           f"{self.notifications_api}/healthz")
            self.notifier.start(self.ready_timeout)
        if self.gateway:
            self.ocpp = ServiceProcess("ocpp-gateway", self.env, self.log_dir / "gateway.log",
                                       f"{self.gateway_http}/healthz")
            self.ocpp.start(self.ready_timeout)

    def add_gateway(self, tls: ssl.SSLContext | None = None, **env: str) -> ServiceProcess:
        """Another OCPP gateway instance (its own port; `env` adds variables, e.g. its
        security profile), started and ready; its chargers connect to
        `ws://127.0.0.1:{port}/ocpp/`, or `wss://` with `tls`, the client context that
        verifies its certificate."""
        n = len(self.more_gateways) + 2
        port = free_port()
        env = {**self.env, "OCPP_PORT": str(port), **env}
        gateway = ServiceProcess("ocpp-gateway", env, self.log_dir / f"gateway-{n}.log",
                                 f"{'http' if tls is None else 'https'}://127.0.0.1:{port}/healthz",
                                 ready_tls=tls)
        self.more_gateways.append(gateway)
        gateway.start(self.ready_timeout)
        return gateway

    def add_access(self, **env: str) -> ServiceProcess:
        """Another access-service instance in the same consumer group on the same database
        (its own API port and instance name; `env` adds variables, e.g.
        `QUERY_DATABASE_URL`), started and ready: it holds some command partitions."""
        n = len(self.more_access) + 2
        port = free_port()
        env = {**self.env, "API_PORT": str(port), "ACCESS_INSTANCE": f"access-{n}", **env}
        access = ServiceProcess("access-service", env, self.log_dir / f"access-{n}.log",
                                f"http://127.0.0.1:{port}/readyz")
        self.more_access.append(access)
        access.start(self.ready_timeout)
        return access

    @staticmethod
    def api_of(access: ServiceProcess) -> str:
        """The query API of an access-service instance (`add_access`)."""
        return f"http://127.0.0.1:{access.env['API_PORT']}"

    def add_notifier(self) -> ServiceProcess:
        """Another notification-service instance in the same consumer group, sharing the
        sent-log (its own metrics port and instance name), started and ready."""
        n = len(self.more_notifiers) + 2
        port = free_port()
        env = {**self.env, "NOTIFICATIONS_PORT": str(port),
               "NOTIFICATIONS_INSTANCE": f"notifier-{n}"}
        notifier = ServiceProcess("notifications-service", env,
                                  self.log_dir / f"notifications-{n}.log",
                                  f"http://127.0.0.1:{port}/healthz")
        self.more_notifiers.append(notifier)
        notifier.start(self.ready_timeout)
        return notifier

    # --- looking at it -------------------------------------------------------------------------

    def service_pids(self) -> dict[str, int]:
        """PIDs of the running services, by console-script name."""
        if self.run is None:
            return {s.name: s.pid for s in (self.access, self.notifier, self.ocpp)
                    if s is not None and s.alive and s.pid is not None}
        found: dict[str, int] = {}
        for pid in children(self.run.pid):
            command = cmdline(pid)
            for name in SERVICES:
                if f"/{name}" in command or command.startswith(name):
                    queries = name == "access-service" and "ACCESS_ROLE=queries" in environ(pid)
                    found["access-queries" if queries else name] = pid
        return found

    def http(self) -> httpx.AsyncClient:
        """A client of the query API, signed in."""
        return httpx.AsyncClient(base_url=self.api, timeout=10,
                                 headers={"Authorization": f"Bearer {self.token}"})

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database.url, timeout=10)

    @property
    def bearer(self) -> dict[str, str]:
        """The header that opens the query API and every service's `/metrics`."""
        return {"Authorization": f"Bearer {self.token}"}

    def notifier_metrics(self) -> dict[str, float]:
        return metrics(http_text(f"{self.notifications_api}/metrics", self.token))

    def metrics_of(self, service: ServiceProcess) -> dict[str, float]:
        """One instance's `/metrics`, beside the `/healthz` or `/readyz` it was started
        against."""
        url = urllib.parse.urlsplit(service.ready_url)._replace(path="/metrics").geturl()
        return metrics(http_text(url, self.token))

    def access_metrics(self) -> dict[str, float]:
        """The command side's metrics (everything, when one process runs it all)."""
        return metrics(http_text(f"{self.commands_api}/metrics", self.token))

    def gateway_metrics(self) -> dict[str, float]:
        return metrics(http_text(f"{self.gateway_http}/metrics", self.token))

    # --- down ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything we started and drop the database. Never raises."""
        if self.run is not None:
            with contextlib.suppress(Exception):
                stop_process(self.run, self.stop_timeout)
        for service in (*self.more_gateways, self.ocpp, *self.more_notifiers, self.notifier,
                        *self.more_access, self.access):
            if service is not None and service.alive:
                with contextlib.suppress(Exception):
                    service.terminate(self.stop_timeout)
        if self.broker is not None:
            with contextlib.suppress(Exception):
                self.broker.stop()
        with contextlib.suppress(Exception):
            self.sink.stop()
        self.database.drop()
