"""(10) Phantom gaps: a slow writer that took its position first and commits last must
not make the relay or the projection skip its event
(tests/integration/access/eventlog/test_phantom_gaps.py)."""

from __future__ import annotations

from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.pytests import run_pytest


def run(var: Path) -> Figures:
    figures = Figures("phantom-gaps", "a late commit is never skipped by a log follower")
    run_pytest(figures, var, ["tests/integration/access/eventlog/test_phantom_gaps.py"])
    figures.commands = int(figures.details.get("tests_passed", 0))
    return figures


SCENARIOS = [Scenario("phantom-gaps", "late commits are never skipped (relay, projection)",
                      run, 20)]
