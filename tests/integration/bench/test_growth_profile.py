"""`bench.growth.profile` on a real fleet: every read it profiles is called as often as
asked, and each call's statements are timed within it (the split it reports is one it
measured, not one it assumed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bench.fleet import seed_fleet
from bench.growth.profile import READS, profile
from services.access.rebuild_cli import run_rebuild

pytestmark = pytest.mark.integration


def test_each_read_is_timed_with_its_statements(new_database: Callable[[], str]) -> None:
    url = new_database()
    seed_fleet(url, 1500, 5, ends_at=datetime(2026, 6, 1, tzinfo=UTC))
    asyncio.run(run_rebuild(url))

    found = asyncio.run(profile({"small": url}, requests=6, reps=2))

    assert set(found) == {"small"}
    for read in READS:
        timed = found["small"][read]
        assert timed["calls"] == 12, read
        assert timed["statements_per_call"] >= 1, read
        assert 0 < timed["statements_ms"]["p50"] <= timed["total_ms"]["p50"], read
        assert timed["python_ms"]["p50"] >= 0, read
        assert sum(s["n"] for s in timed["by_statement"].values()) >= 12, read
