"""stop_step: a step of a stop that keeps it waiting is named in the log while it waits,
and how long it took once it ends; a quick step says nothing."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.common.stopping import stop_step, within


async def test_a_slow_step_is_named_while_it_waits(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "services.common.stopping")
    seen_while_waiting: list[str] = []

    async with stop_step("the projection", slow=0.05):
        await asyncio.sleep(0.1)
        seen_while_waiting = [r.getMessage() for r in caplog.records]

    assert seen_while_waiting == ["stopping: the projection is still running after 0.05 s"]
    assert caplog.records[-1].getMessage().startswith("stopping: the projection took 0.1")


async def test_a_quick_step_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "services.common.stopping")
    async with stop_step("the pool", slow=0.2):
        await asyncio.sleep(0)
    await asyncio.sleep(0.3)  # past `slow`: nothing fires late either

    assert caplog.records == []


async def test_a_step_past_its_bound_is_cut_named_and_left_behind(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "services.common.stopping")
    stuck = asyncio.Event()
    loop = asyncio.get_running_loop()

    started = loop.time()
    finished = await within("the service's pool", stuck.wait(), 0.1)

    assert finished is False
    assert loop.time() - started < 1.0
    assert [r.getMessage() for r in caplog.records] == [
        "stopping: the service's pool did not finish in 0.1 s; going on without it"]


async def test_a_step_within_its_bound_finishes_and_its_error_is_raised() -> None:
    assert await within("the projection", asyncio.sleep(0), 1.0) is True

    async def broken() -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError, match="no"):
        await within("the log watch", broken(), 1.0)
