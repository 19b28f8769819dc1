"""What every measure shares: the plan (how long, how many), the running system, the
clients, the rows collected so far, and the memory sampler."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.http import Pool
from bench.kafka import Commands
from bench.stats import Row
from bench.system import BIN, TOKEN, System, memory_kib
from services.common.timeouts import wait_for


@dataclass(frozen=True)
class Plan:
    """Sizes and durations; `quick()` is for trying the benchmark out, not for figures."""

    reps: int = 3
    concurrency: int = 32  # commands in flight (P1), for ours and for the peer
    p1_seconds: tuple[float, ...] = (20.0, 8.0, 8.0)
    p1_warmup: float = 2.0
    p1_lone_commands: int = 150  # per repetition, one in flight, against the latency floor
    p2_rate: float = 500.0  # only when P1 has no figure: P2 runs at half of P1's rate
    p2_seconds: float = 4.0
    p3_grants: int = 1_000_000
    p3_latency_requests: int = 2000
    p3_clients: int = 8
    p3_seconds: float = 4.0
    p5_emails: int = 2000
    smtp_connections: int = 8  # the notification service's default SMTP_CONNECTIONS
    p4_database_url: str | None = None
    """P4 on another database (a seeded fleet log, say) instead of the benchmark's own."""
    drain_timeout: float = 60.0

    @classmethod
    def quick(cls) -> Plan:
        return cls(p1_seconds=(4.0, 3.0, 3.0), p1_warmup=1.0, p1_lone_commands=45,
                   p2_seconds=2.0, p3_grants=100_000, p3_latency_requests=300,
                   p3_seconds=1.5, p5_emails=300, drain_timeout=30.0)


@dataclass
class Bench:
    plan: Plan
    system: System
    commands: Commands
    pool: asyncpg.Pool
    out: Path
    profile: bool = False
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    """(owner, charger) pairs that exist, for commands that need them."""
    invites_accepted: int = 0
    """Accepted InviteUser commands: each causes exactly one e-mail."""

    def http(self, size: int) -> Pool:
        return Pool(self.system.api, TOKEN, size)

    def say(self, line: str) -> None:
        print(f"  bench | {line}", flush=True)

    @contextlib.asynccontextmanager
    async def peak_rss(self, into: dict[str, int]) -> AsyncIterator[None]:
        """Sample each service's VmRSS while the block runs; the max (KiB) lands in `into`."""
        pids = self.system.service_pids()

        async def sample() -> None:
            while True:
                for name, pid in pids.items():
                    rss = memory_kib(pid).get("VmRSS", 0)
                    into[name] = max(into.get(name, 0), rss)
                await asyncio.sleep(0.2)

        task = asyncio.create_task(sample())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            for name, pid in pids.items():
                status = memory_kib(pid)
                into[name] = max(into.get(name, 0), status.get("VmRSS", 0))
                into[f"{name}.VmHWM"] = status.get("VmHWM", 0)

    @contextlib.asynccontextmanager
    async def profiled(self, service: str, label: str,
                       enabled: bool = True) -> AsyncIterator[None]:
        """With --profile: py-spy samples `service` ("bench" = this process) while the
        block runs, into `profile-<label>.txt` (collapsed stacks, see bench.profile)."""
        pid = os.getpid() if service == "bench" else self.system.service_pids().get(service)
        if not (self.profile and enabled) or pid is None:
            yield
            return
        target = self.out / f"profile-{label}.txt"
        process = await asyncio.create_subprocess_exec(
            str(BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "97", "--nonblocking",
            "--format", "raw", "--output", str(target),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await asyncio.sleep(0.5)  # let it attach
        try:
            yield
        finally:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                await wait_for(process.wait(), 30)
            if process.returncode is None:
                process.kill()
                await process.wait()
            self.details.setdefault("profiles", {})[label] = str(target)


async def wait_until(check: Any, within: float, interval: float = 0.1) -> bool:
    """Poll `check()` (sync or async) until true or `within` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)
