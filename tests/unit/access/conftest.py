from __future__ import annotations

import pytest

from tests.unit.access.scenario import Scenario


@pytest.fixture
def s() -> Scenario:
    return Scenario()
