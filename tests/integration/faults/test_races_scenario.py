"""The fault suite's `races` scenario is cheap (a second or two): run it in CI too."""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.scenarios import races

pytestmark = pytest.mark.integration


def test_races_have_exactly_one_winner_each(tmp_path: Path) -> None:
    figures = races.run(tmp_path)
    assert figures.error is None, figures.error
    assert figures.ok, figures.as_json()
    assert figures.details["transfers"]["winners"] == 1
    assert figures.details["transfers"]["racers"] == races.TRANSFERS == 50
    assert figures.details["accepts"]["winners"] == 1
    assert figures.details["accepts"]["racers"] == races.ACCEPTS == 20
