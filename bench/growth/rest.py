"""Waiting for a freshly started system to finish catching up with a fleet's history.

The bench's broker is new and empty, so the access service publishes the whole log and
every local-list version again (what it does after a broker lost its data) and the
notification service reads all of it. Reads asked meanwhile compete with that for the
two cores: the first 1 M run's p99s spread over 100x between repetitions. So the reads
are asked at rest, once the relay and the local-list publisher have nothing left and the
services' processes are idle; the catch-up's own peak memory is kept apart (P6 judges
both: a row for the reads and a row for the catch-up).

With `--standby-reads` the reads come first, from an access service standing by while the
bench holds the lead (`standby.HeldLead`): nothing catches up meanwhile. The lead is then
let go and the catch-up watched, up to a limit (at 10 M it takes longer than anyone waits).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.system import memory_kib
from harness.processes import http_text, metrics
from harness.system import System

LAGS = ("access_relay_lag_positions", "access_local_lists_lag_positions")
IDLE_CPU = 0.2
"""At rest: the services together use under this share of one core (over `WINDOW`). Idle,
they use ~0.1 (the access service's polls, ~7 %, and the other two ~1 % each); catching
up, one core or more."""
WINDOW = 2.0


@dataclass
class CatchUp:
    seconds: float = 0.0
    rss_mb: dict[str, float] = field(default_factory=dict)
    """Each service's peak RSS while catching up."""
    finished: bool = True
    """False: still catching up when the bench stopped waiting (`seconds` is how long it
    watched)."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lagging(api: str, token: str, expected: dict[str, int] | None = None) -> bool:
    """Whether the publishers have work left (or no instance leads them yet, or the
    leader's counters in `expected` have not reached their totals yet)."""
    seen = metrics(http_text(f"{api}/metrics", token, timeout=10))
    if seen.get("access_leading", 1) != 1:
        return True
    if any(seen.get(name, 0) < total for name, total in (expected or {}).items()):
        return True
    return any(seen.get(name, 0) > 0 for name in LAGS)


async def wait_at_rest(api: str, token: str, pids: dict[str, int],
                       timeout: float = 3600, *, leader: bool = True,  # noqa: ASYNC109
                       expected: dict[str, int] | None = None) -> CatchUp:
    """Return once the publishers have caught up and the services are idle, or once
    `timeout` seconds have passed (`CatchUp.finished` false). `leader` false: the access
    service stands by (another holds the lead), so only idleness is waited for.
    `expected`: counters of the leader's `/metrics` that must reach these totals first.
    A lag of 0 alone can be read between the lead's start and its publishers' rewind
    (their positions still those a system before on the same database reached)."""
    found, started = CatchUp(), time.monotonic()

    def sample() -> None:
        for name, pid in pids.items():
            found.rss_mb[name] = max(found.rss_mb.get(name, 0.0),
                                     memory_kib(pid).get("VmRSS", 0) / 1024)

    while time.monotonic() - started < timeout:
        sample()
        if leader and await asyncio.to_thread(lagging, api, token, expected):
            await asyncio.sleep(0.5)
            continue
        before = sum(cpu_seconds(pid) for pid in pids.values())
        await asyncio.sleep(WINDOW)
        sample()
        if sum(cpu_seconds(pid) for pid in pids.values()) - before < IDLE_CPU * WINDOW:
            found.seconds = time.monotonic() - started
            return found
    found.seconds, found.finished = time.monotonic() - started, False
    return found


async def republished(pool: asyncpg.Pool) -> dict[str, int]:
    """The totals the leader's counters reach once it has published, on its new broker,
    every event and list version of the read models again."""
    return {
        "access_relay_published_total":
            await pool.fetchval("SELECT count(*) FROM read.log_positions"),
        "access_local_lists_published_total":
            await pool.fetchval("SELECT count(*) FROM read.local_list_versions"),
    }


async def caught_up(system: System[Any], pids: dict[str, int], expected: dict[str, int],
                    timeout: float = 3600) -> CatchUp:  # noqa: ASYNC109
    """`wait_at_rest` for the system's leader, whose counters are on the command side's
    `/metrics`: the relay and the local-list publisher run there, and the query API's
    process has neither counter. (Read from the query API, as it was until 6 Dec, ninth
    session, the wait never ended since the access service became two processes.)"""
    return await wait_at_rest(system.commands_api, system.token, pids, timeout,
                              expected=expected)
