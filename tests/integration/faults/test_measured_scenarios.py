"""`fuzz` and `phantom-gaps` report what ran — counted by the tests themselves — not
figures the scenario assumes (issue 17: they used to say lost 0 / duplicates 0 by default
and "10 000 inputs" for max_examples times tests).

The scenarios' own runs are `make faults ARGS='--only fuzz,phantom-gaps'` (their tests
already run in the suite: running them again here would cost ~40 s); these check that the
figures are computed from the counts the tests write."""

from __future__ import annotations

import pytest

from faults.report import Figures
from faults.scenarios import fuzz, phantom

pytestmark = pytest.mark.integration


def test_fuzz_figures_come_from_the_tally() -> None:
    figures = Figures("fuzz")
    fuzz.apply_tally(figures, {"any_bytes:dead_letter": 6000, "structured:raised": 1,
                               "binary:lost": 2, "headers:doubled": 3, "binary:command": 3990})
    assert figures.commands == 9996
    assert (figures.lost, figures.duplicates) == (3, 3)
    assert not figures.checks["at least 10,000 inputs run"]
    assert not figures.ok
    missing = Figures("fuzz")
    fuzz.apply_tally(missing, {})
    assert not missing.ok, "a run that wrote no tally is not a pass"


def test_phantom_figures_come_from_what_was_seen() -> None:
    figures = Figures("phantom-gaps")
    phantom.apply_seen(figures, {"commands": 5, "published": 10, "seen": 10, "lost": 1,
                                 "duplicates": 1, "out_of_order": 1})
    assert (figures.lost, figures.duplicates) == (1, 1)
    assert not figures.ok
