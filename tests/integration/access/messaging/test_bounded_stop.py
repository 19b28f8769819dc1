"""A stop is bounded even when a connection never comes back to the service's pool:
asyncpg's close waits for every one, forever. The stop cuts the pool after its bound and
ends, naming the step, instead of waiting until a supervisor kills it (a drain hung
silently for 40 s in `make faults`, twice, 6 Dec)."""

from __future__ import annotations

import logging

import pytest

from services.access.bootstrap import DRAIN_SECONDS, AccessService
from services.access.config import AccessSettings
from services.common.timeouts import wait_for


async def test_a_connection_never_given_back_does_not_hold_the_stop(
    database_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "services.common.stopping")
    service = AccessService(AccessSettings(database_url=database_url, access_role="queries"),
                            serve_api=False)
    await service.start()
    assert service.pool is not None
    await service.pool.acquire()  # held by "someone" and never released

    await wait_for(service.stop(), DRAIN_SECONDS)  # on its own, close never ends

    assert "stopping: the service's pool did not finish" in caplog.text
