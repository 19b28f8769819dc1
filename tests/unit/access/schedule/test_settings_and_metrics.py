"""SHARE_ENDING_NOTICE_HOURS reaches the scheduler as README documents it, and `/metrics`
reports what the scheduler appended and how many shares it still watches."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.access.config import AccessSettings
from services.access.metrics import AccessMetrics
from services.access.schedule.runner import CAPACITY

ROOT = Path(__file__).resolve().parents[4]


class Projection:
    position = 7


class Schedule:
    boundaries = 12
    notices = 3
    due_shares = 40
    refills = 5


def test_the_notice_period_defaults_to_24_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHARE_ENDING_NOTICE_HOURS", raising=False)
    assert AccessSettings.from_env().share_ending_notice == timedelta(hours=24)
    assert AccessSettings().share_ending_notice == timedelta(hours=24)


def test_the_notice_period_comes_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARE_ENDING_NOTICE_HOURS", "1.5")
    assert AccessSettings.from_env().share_ending_notice == timedelta(minutes=90)


def test_the_horizon_defaults_to_24_hours_and_comes_from_its_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULE_HORIZON_HOURS", raising=False)
    assert AccessSettings.from_env().schedule_horizon == timedelta(hours=24)
    monkeypatch.setenv("SCHEDULE_HORIZON_HOURS", "0.5")
    assert AccessSettings.from_env().schedule_horizon == timedelta(minutes=30)


def test_the_capacity_defaults_to_the_schedulers_and_comes_from_its_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULE_CAPACITY", raising=False)
    assert AccessSettings.from_env().schedule_capacity == CAPACITY == 10_000
    monkeypatch.setenv("SCHEDULE_CAPACITY", "500")
    assert AccessSettings.from_env().schedule_capacity == 500


def test_readme_and_compose_name_the_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    for name, default in (("SHARE_ENDING_NOTICE_HOURS", 24), ("SCHEDULE_HORIZON_HOURS", 24),
                          ("SCHEDULE_CAPACITY", CAPACITY)):
        assert f"| `{name}` |" in readme
        assert f"{name}: ${{{name}:-{default}}}" in compose


async def test_the_scheduler_counts_are_in_the_metrics() -> None:
    text = await AccessMetrics(Projection(), schedule=Schedule()).render()
    lines = text.splitlines()
    assert "access_schedule_boundaries_total 12" in lines
    assert "access_schedule_notices_total 3" in lines
    assert "access_schedule_due_shares 40" in lines
    assert "access_schedule_refills_total 5" in lines
    assert "# TYPE access_schedule_boundaries_total counter" in lines
    assert "# TYPE access_schedule_due_shares gauge" in lines


async def test_without_a_scheduler_there_are_no_schedule_metrics() -> None:
    assert "access_schedule" not in await AccessMetrics(Projection()).render()
