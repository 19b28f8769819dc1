"""A PostgreSQL cluster of the growth bench's own (`--own-cluster DIR`).

What else a shared server holds in its buffers and does meanwhile can move P4 at size
(the 1 M fleet has rebuilt at 0.85-0.96x of the 100 k fleet's rate on the machine's
server, 0.89-1.00x on clusters with nothing else on them: docs/performance.md). A cluster
the bench starts for itself, and stops at the end, keeps that out of the figure, whatever
else the machine's server is doing. Its data directory is kept, fleets included, so the
next run reuses them as it does on the shared server (a throwaway one would write 10 M
events again each time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.local.postgres import start_cluster
from services.local.tansu import free_port


@contextmanager
def own_cluster(data_dir: Path | None, log_dir: Path) -> Iterator[str | None]:
    """The admin URL of a cluster in `data_dir` (made on first use), running while the
    block runs; None, and nothing started, without a directory."""
    if data_dir is None:
        yield None
        return
    cluster = start_cluster(data_dir.resolve(), free_port(), log_dir / "own-cluster.log")
    try:
        yield cluster.url()
    finally:
        cluster.stop(timeout=120.0)  # a shutdown checkpoint of a 10 M fleet takes a while
