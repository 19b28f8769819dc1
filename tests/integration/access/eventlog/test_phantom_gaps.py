"""A slow writer that got its position first and commits last must not make a follower
of the log skip its event (the "commit-order gap").

With `PHANTOM_FIGURES` set, what the follower saw is written there (JSON) before the
verdict: the fault suite's `phantom-gaps` reports those counts."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from charger_access_client.commands import RegisterUser
from services.access.eventlog.reader import EventLog
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from services.access.store.application import AccessStore, open_store
from services.access.store.recorder import ResultRecordingRecorder
from services.common.timeouts import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def store(new_database: Any) -> Iterator[tuple[AccessStore, str]]:
    url = new_database()
    store = open_store(url, pool_size=6)
    yield store, url
    store.close()


def register(executor: Executor) -> None:
    user = uuid.uuid4()
    command = RegisterUser(user_id=user, email=f"{user}@example.no")
    [result] = executor.execute([Valid(str(uuid.uuid4()), user, "RegisterUser", command)])
    assert result.status == "accepted"


async def test_a_late_commit_is_never_skipped_by_a_follower(store: tuple[AccessStore, str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    app, url = store
    executor = Executor(app, Rules(b"gap-secret", timedelta(days=7)))
    register(executor)  # something in the log first
    slow_inside = threading.Event()
    original = ResultRecordingRecorder._store_results

    def slow_store_results(self: Any, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "slow-writer":
            slow_inside.set()
            time.sleep(1.5)  # holds its transaction open after taking its positions
        original(self, *args, **kwargs)

    monkeypatch.setattr(ResultRecordingRecorder, "_store_results", slow_store_results)
    seen: list[int] = []
    done = asyncio.Event()

    async def follow() -> None:
        conn = await asyncpg.connect(url)
        position = 0
        try:
            while not done.is_set() or position < await EventLog().head(conn):
                for event in await EventLog().read(conn, position, 100):
                    seen.append(event.position)
                    position = event.position
                await asyncio.sleep(0.01)
        finally:
            await conn.close()

    follower = asyncio.create_task(follow())
    slow = threading.Thread(target=register, args=(executor,), name="slow-writer")
    slow.start()
    await asyncio.to_thread(slow_inside.wait, 10)
    fast = [threading.Thread(target=register, args=(Executor(app, executor._rules),)) for _ in range(3)]
    for thread in fast:
        thread.start()
    await asyncio.to_thread(slow.join, 20)
    for thread in fast:
        await asyncio.to_thread(thread.join, 20)
    done.set()
    await wait_for(follower, 20)

    conn = await asyncpg.connect(url)
    try:
        published = [e.position for e in await EventLog().read(conn, 0, 10_000)]
    finally:
        await conn.close()
    report(commands=5, published=published, seen=seen)
    assert len(published) == 2 * 5  # UserRegistered + GroupCreated per user
    assert seen == published  # every event, in store order, none skipped


def report(commands: int, published: list[int], seen: list[int]) -> None:
    """What ran, for the fault suite: the follower's misses and repeats, counted."""
    if target := os.environ.get("PHANTOM_FIGURES"):
        Path(target).write_text(json.dumps({
            "commands": commands,
            "published": len(published),
            "seen": len(seen),
            "lost": len(set(published) - set(seen)),
            "duplicates": len(seen) - len(set(seen)),
            "out_of_order": sum(1 for a, b in itertools.pairwise(seen) if b <= a),
        }))
