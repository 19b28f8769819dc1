from __future__ import annotations

import pytest

from tests.unit.write.scenario import Scenario


@pytest.fixture
def s() -> Scenario:
    return Scenario()
