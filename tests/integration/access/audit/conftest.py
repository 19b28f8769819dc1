"""One scripted history per module, in a database of its own (tests may tamper with it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.access.audit.history import History, script


@pytest.fixture(scope="module")
def audit_url(new_database: Any) -> str:
    url: str = new_database()
    return url


@pytest.fixture(scope="module")
async def history(audit_url: str) -> History:
    return await script(audit_url)
