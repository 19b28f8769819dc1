"""`access-at` replays the log up to T and says what the live read model said at T."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from services.access.audit import service
from tests.integration.access.audit.history import History

pytestmark = pytest.mark.integration


async def test_access_at_equals_every_live_snapshot_taken_during_the_script(history: History) -> None:
    conn = await asyncpg.connect(history.url)
    try:
        for shot in history.snapshots:
            # Right at the step's time, and an hour later (before the next step).
            for at in (shot.at, shot.at + timedelta(hours=1)):
                for charger, live in shot.users_of.items():
                    replayed = await service.access_at(conn, "charger", charger, at)
                    assert replayed.entries == live, (shot.step, charger)
                for user, live in shot.chargers_of.items():
                    replayed = await service.access_at(conn, "user", user, at)
                    assert replayed.entries == live, (shot.step, user)
    finally:
        await conn.close()
