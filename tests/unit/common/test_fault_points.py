"""Fault points: inert unless armed, and when armed they fire exactly at the Nth pass."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import fault_points

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def disarmed() -> Iterator[None]:
    yield
    fault_points.arm(None)


def test_inert_when_unset() -> None:
    fired: list[int] = []
    fault_points.arm(None, fired.append)
    for name in fault_points.POINTS:
        for _ in range(3):
            fault_points.reached(name)
    assert fired == []


def test_fires_at_the_nth_pass_of_its_own_point_only() -> None:
    fired: list[int] = []
    fault_points.arm("access.after_commit_before_results:3", fired.append)
    fault_points.reached("access.before_commit")  # another point: not counted
    fault_points.reached("access.after_commit_before_results")
    fault_points.reached("access.after_commit_before_results")
    assert fired == []
    fault_points.reached("access.after_commit_before_results")
    assert fired == [fault_points.EXIT_CODE]
    fault_points.reached("access.after_commit_before_results")  # once only
    assert fired == [fault_points.EXIT_CODE]


def test_a_name_alone_means_the_first_pass_and_unknown_names_are_refused() -> None:
    fired: list[int] = []
    fault_points.arm("relay.after_publish_before_position", fired.append)
    fault_points.reached("relay.after_publish_before_position")
    assert fired == [fault_points.EXIT_CODE]
    with pytest.raises(ValueError, match="no known point"):
        fault_points.arm("relay.typo:1")
    with pytest.raises(ValueError, match="starts at 1"):
        fault_points.arm("relay.after_publish_before_position:0")


def test_the_environment_variable_kills_the_process_at_the_point() -> None:
    script = (
        "from services.common import fault_points\n"
        "for i in range(5):\n"
        "    print(i, flush=True)\n"
        "    fault_points.reached('projection.mid_batch')\n"
    )
    env = {**os.environ, "FAULT_POINT": "projection.mid_batch:2", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == fault_points.EXIT_CODE
    assert done.stdout.split() == ["0", "1"]
    assert "FAULT_POINT projection.mid_batch:2 reached" in done.stderr
