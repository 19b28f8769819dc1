"""`bench.growth.profile` on a real fleet: every read it profiles is called as often as
asked, and each call's statements are timed within it (the split it reports is one it
measured, not one it assumed)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.fleet import seed_fleet
from bench.growth.profile import READS, disk_read_bytes, profile
from services.access.rebuild_cli import run_rebuild

pytestmark = pytest.mark.integration


def test_each_read_is_timed_with_its_statements(new_database: Callable[[], str]) -> None:
    url = new_database()
    seed_fleet(url, 1500, 5, ends_at=datetime(2026, 6, 1, tzinfo=UTC))
    asyncio.run(run_rebuild(url))

    frozen = gc.get_freeze_count()
    found = asyncio.run(profile({"small": url}, requests=6, reps=2))

    assert gc.get_freeze_count() == frozen  # it freezes as a service does, then thaws
    assert set(found) == {"small"}
    for read in READS:
        timed = found["small"][read]
        assert timed["calls"] == 12, read
        assert timed["statements_per_call"] >= 1, read
        assert 0 < timed["statements_ms"]["p50"] <= timed["total_ms"]["p50"], read
        assert timed["python_ms"]["p50"] >= 0, read
        assert sum(s["n"] for s in timed["by_statement"].values()) >= 12, read
        assert timed["disk_read_kb_per_call"] >= 0, read


def test_disk_reads_are_counted_from_the_kernel() -> None:
    var = Path(__file__).resolve().parents[3] / "var"  # the checkout's disk, not a tmpfs
    var.mkdir(exist_ok=True)
    before = disk_read_bytes()
    data = var / f"cold-{os.getpid()}"
    data.write_bytes(os.urandom(4 << 20))
    with data.open("rb") as f:  # dropped from the page cache, so the read goes to disk
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        f.read()
    data.unlink()
    assert disk_read_bytes() - before >= 4 << 20
