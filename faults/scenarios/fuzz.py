"""(9) Fuzz: the intake's hypothesis tests (any bytes, structured envelopes, every command
model over the binary binding, arbitrary headers), asked for at least 10 000 inputs in all
(`FUZZ_EXAMPLES` per test): each gets a command, a final result or a dead letter, and none
raises. (The poison storm sends hostile input through the real consumer.)

The figures are what ran, from the tests' own tally (`FUZZ_TALLY`): `commands` is the
number of inputs the intake actually read (hypothesis may run fewer than asked, or more
while shrinking a failure), `lost` the inputs that got nothing or made the intake raise,
`duplicates` the inputs both run as a command and dead-lettered."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.pytests import run_pytest

TESTS = 4  # fuzz tests in the file
INPUTS = 10_000
PER_TEST = -(-INPUTS // TESTS)


def run(var: Path, per_test: int = PER_TEST) -> Figures:
    figures = Figures("fuzz", f"intake fuzz, {per_test * TESTS:,} inputs asked for")
    tally_file = var / "fuzz-tally.json"
    tally_file.unlink(missing_ok=True)
    run_pytest(figures, var, ["tests/unit/access/messaging/test_fuzz.py"],
               {"FUZZ_EXAMPLES": str(per_test), "FUZZ_TALLY": str(tally_file)})
    tally: dict[str, int] = json.loads(tally_file.read_text()) if tally_file.exists() else {}
    apply_tally(figures, tally, wanted=min(INPUTS, per_test * TESTS))
    return figures


def apply_tally(figures: Figures, tally: dict[str, int], wanted: int = INPUTS) -> None:
    """Figures from the tally (`<test>:<outcome>` → inputs run)."""
    outcomes: Counter[str] = Counter()
    for key, count in tally.items():
        outcomes[key.rsplit(":", 1)[1]] += count
    figures.commands = sum(outcomes.values())
    figures.lost = outcomes["lost"] + outcomes["raised"]
    figures.duplicates = outcomes["doubled"]
    figures.details["inputs_by_outcome"] = dict(sorted(outcomes.items()))
    figures.details["inputs_by_test"] = tally
    figures.checks["tally written"] = bool(tally)
    figures.checks[f"at least {wanted:,} inputs run"] = figures.commands >= wanted


SCENARIOS = [Scenario("fuzz", f"intake fuzz tests, >= {INPUTS:,} inputs", run, 120)]
