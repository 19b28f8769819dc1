"""The scenarios, in the order the issue lists them; `SCENARIOS` maps a name to its runner.

Each runner takes the directory for its logs and returns its `Figures`; it starts and
stops everything it needs, so scenarios run one after another on a quiet machine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faults.report import Figures


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    run: Callable[[Path], Figures]
    budget_s: int
    """Roughly how long it takes here, for `--list`."""


MODULES = ("kill_access", "kill_notifications", "kill_gateway", "fault_points",
           "sigterm", "broker", "postgres", "smtp", "poison", "races", "fuzz", "phantom",
           "reads", "disk_full", "power_cut")


def all_scenarios() -> list[Scenario]:
    found: list[Scenario] = []
    for name in MODULES:  # imported here: each pulls in the heavy parts it needs
        module = importlib.import_module(f"faults.scenarios.{name}")
        found.extend(module.SCENARIOS)
    return found
