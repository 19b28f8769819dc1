"""The benchmark's system: the shared harness started as `make run` starts it, with the
SMTP sink counting in a process of its own and a database of the benchmark's own (on a
cluster under var/bench when no PostgreSQL answers on 127.0.0.1:5432)."""

from __future__ import annotations

import os
from pathlib import Path

from harness.database import Database, admin_url_from
from harness.processes import BIN
from harness.sink_process import SinkProcess
from harness.system import System as Harness
from services.local.infra import tcp_answers

__all__ = ["BIN", "TOKEN", "System", "bench_system", "memory_kib"]

TOKEN = "bench-token"  # noqa: S105 - a local, throwaway bearer token
ADMIN_VARIABLE = "BENCH_ADMIN_DATABASE_URL"

System = Harness[SinkProcess]


def bench_system(var: Path) -> System:
    own = not tcp_answers("127.0.0.1", 5432) and ADMIN_VARIABLE not in os.environ
    database = Database(admin_url=admin_url_from(ADMIN_VARIABLE), prefix="ca_bench",
                        own_cluster=own, cluster_dir=var / "pg")
    return System(var, SinkProcess(), name="bench", token=TOKEN, database=database,
                  ready_timeout=150.0, stop_timeout=40.0)


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
