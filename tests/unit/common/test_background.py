"""BackgroundLoop: started once however often it is asked, and stopped only once the loop
has really ended (its cleanup ran)."""

from __future__ import annotations

import asyncio

from services.common.background import BackgroundLoop


async def test_starting_twice_runs_one_loop_and_stop_waits_for_its_cleanup() -> None:
    started: list[int] = []
    cleaned: list[int] = []

    async def loop() -> None:
        started.append(1)
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # cleanup that itself awaits
            cleaned.append(1)

    background = BackgroundLoop(loop, "test-loop")
    assert not background.alive()
    background.start()
    background.start()
    await asyncio.sleep(0.01)
    assert started == [1]
    assert background.alive()
    assert background.task is not None
    assert background.task.get_name() == "test-loop"
    await background.stop()
    assert cleaned == [1]
    assert not background.alive()
    await background.stop()  # stopping a stopped loop is harmless


async def test_a_loop_that_ended_is_started_again() -> None:
    runs: list[int] = []

    async def loop() -> None:
        runs.append(1)

    background = BackgroundLoop(loop, "short")
    background.start()
    await asyncio.sleep(0.01)
    assert not background.alive()
    background.start()
    await asyncio.sleep(0.01)
    assert runs == [1, 1]
