"""What the invitation tests share."""

from __future__ import annotations

from uuid import UUID

from tests.unit.access.scenario import Scenario

WRONG_TOKEN = "A" * 43
NEW_SECRET = b"the-secret-after-rotation"


def owner_with_chargers(s: Scenario, n: int = 1) -> tuple[UUID, list[UUID]]:
    owner = s.user()
    return owner, [s.charger(owner) for _ in range(n)]
