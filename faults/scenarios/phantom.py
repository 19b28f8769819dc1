"""(10) Phantom gaps: a slow writer that took its position first and commits last must
not make the relay or the projection skip its event
(tests/integration/access/eventlog/test_phantom_gaps.py).

The figures are what the test's follower saw (`PHANTOM_FIGURES`): `lost` the published
events it never read, `duplicates` the ones it read twice; `commands` the commands the
writers ran."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.pytests import run_pytest


def run(var: Path) -> Figures:
    figures = Figures("phantom-gaps", "a late commit is never skipped by a log follower")
    seen_file = var / "phantom-figures.json"
    seen_file.unlink(missing_ok=True)
    run_pytest(figures, var, ["tests/integration/access/eventlog/test_phantom_gaps.py"],
               {"PHANTOM_FIGURES": str(seen_file)})
    seen: dict[str, Any] = json.loads(seen_file.read_text()) if seen_file.exists() else {}
    apply_seen(figures, seen)
    return figures


def apply_seen(figures: Figures, seen: dict[str, Any]) -> None:
    figures.checks["figures written"] = bool(seen)
    if not seen:
        return
    figures.commands = int(seen["commands"])
    figures.lost = int(seen["lost"])
    figures.duplicates = int(seen["duplicates"])
    figures.details["follower"] = seen
    figures.checks["read in store order"] = seen["out_of_order"] == 0


SCENARIOS = [Scenario("phantom-gaps", "late commits are never skipped (relay, projection)",
                      run, 20)]
