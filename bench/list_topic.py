"""Following `access.local-lists` the way a CSMS or the OCPP gateway would, and telling
when a given key first appeared on a given charger's list.

A measure says what it waits for (`expect(charger, token)`) before it causes it; the
follower resolves that expectation with the moment (monotonic and wall clock) the first
`LocalListChanged` adding the key to the charger's list was read. Keys are matched in the
OCPP 2.0.1 Differential: an entry with `idTokenInfo` is a key added or changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer

from services.common.timeouts import wait_for


@dataclass(frozen=True)
class Seen:
    """When the key's version was read from the topic: `time.monotonic()`, `time.time()`."""

    monotonic: float
    wall: float


Listed = tuple[str, str]
"""(charger id, upper-case token)."""


class ListFollower:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.records = 0
        self._waiting: dict[Listed, asyncio.Future[Seen]] = {}
        self._task: asyncio.Task[None] | None = None
        self._assigned = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow())
        await wait_for(self._assigned.wait(), 30)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.forget()

    def expect(self, charger: uuid.UUID, token: str) -> asyncio.Future[Seen]:
        """A future of the first record, from now on, adding `token` to `charger`'s list."""
        future: asyncio.Future[Seen] = asyncio.get_running_loop().create_future()
        self._waiting[str(charger), token.upper()] = future
        return future

    def forget(self) -> None:
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, group_id=None,
                                    auto_offset_reset="latest", enable_auto_commit=False,
                                    fetch_max_wait_ms=5)
        await consumer.start()
        try:
            # "latest" is resolved lazily: ask for the positions now, before any change.
            for partition in consumer.assignment():
                await consumer.position(partition)
            self._assigned.set()
            while True:
                batches = await consumer.getmany(timeout_ms=100, max_records=2000)
                seen = Seen(time.monotonic(), time.time())
                for records in batches.values():
                    for record in records:
                        self.records += 1
                        self._resolve(json.loads(record.value), seen)
        finally:
            await consumer.stop()

    def _resolve(self, event: dict[str, Any], seen: Seen) -> None:
        data = event["data"]
        for entry in data["ocpp201"].get("localAuthorizationList", []):
            if "idTokenInfo" not in entry:
                continue
            waiting = self._waiting.pop((data["charger_id"], entry["idToken"]["idToken"]), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(seen)
