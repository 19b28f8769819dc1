"""(9) Fuzz: the intake's hypothesis tests (any bytes, structured envelopes, every command
model over the binary binding, arbitrary headers) with `FUZZ_EXAMPLES` set so that they
try at least 10 000 inputs in all: each gets a command, a final result or a dead letter,
and none raises. (The poison storm sends hostile input through the real consumer.)"""

from __future__ import annotations

from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.pytests import run_pytest

TESTS = 4  # fuzz tests in the file
INPUTS = 10_000
PER_TEST = -(-INPUTS // TESTS)


def run(var: Path) -> Figures:
    figures = Figures("fuzz", f"intake fuzz, {PER_TEST * TESTS:,} inputs")
    run_pytest(figures, var, ["tests/unit/access/messaging/test_fuzz.py"],
               {"FUZZ_EXAMPLES": str(PER_TEST)})
    passed = int(figures.details.get("tests_passed", 0))
    figures.commands = passed * PER_TEST
    figures.checks[f"at least {INPUTS:,} inputs"] = passed * PER_TEST >= INPUTS
    return figures


SCENARIOS = [Scenario("fuzz", f"intake fuzz tests, >= {INPUTS:,} inputs", run, 120)]
