"""Talking to the real broker from tests: publish commands, collect results and events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer

from charger_access_client import CommandResult, KafkaSecurity
from charger_access_client.client import AccessClient, command_envelope
from charger_access_client.topics import Topics
from services.common import kafka_security
from services.common.kafka import ensure_topics


def envelope(type_: str, data: dict[str, Any], actor: uuid.UUID | str,
             command_id: str | None = None) -> dict[str, Any]:
    return command_envelope(type_, data, actor, command_id=command_id, source="tests")


class CommandClient:
    """The client package's `AccessClient`, as another service would use it, plus what
    tests look at besides: every result kept (copies under `"<id>#all"`), every event
    and dead letter."""

    def __init__(self, bootstrap: str, topics: Topics,
                 security: KafkaSecurity | None = None) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.security = security or KafkaSecurity()
        self.access = AccessClient(bootstrap, security=self.security, topics=topics,
                                   source="tests", from_beginning=True,
                                   on_result=self._on_result)
        self.results: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.dead_letters: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # The client needs the results topic; a test may start before the service made it.
        await ensure_topics(self.bootstrap, self.topics.all(),
                            security=kafka_security.KafkaSecurity(**vars(self.security)))
        await self.access.start()
        self._tasks.append(asyncio.create_task(self._follow(self.topics.events, self._on_event)))
        self._tasks.append(asyncio.create_task(self._follow(self.topics.commands_dlq, self.dead_letters.append)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.access.stop()

    def _on_result(self, model: CommandResult) -> None:
        result = model.model_dump(mode="json")
        self.results.setdefault(result["command_id"], result)
        self.results.setdefault(f"{result['command_id']}#all", []).append(result)  # type: ignore[arg-type]

    def _on_event(self, record: Any) -> None:
        self.events.append(json.loads(record.value))

    async def _follow(self, topic: str, sink: Any) -> None:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.bootstrap, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    **self.security.client_options())
        await consumer.start()
        try:
            async for record in consumer:
                sink(record)
        finally:
            await consumer.stop()

    async def send(self, type_: str, data: dict[str, Any], actor: uuid.UUID | str,
                   command_id: str | None = None, key: str | None = None) -> str:
        return await self.access.send(type_, data, actor=actor, command_id=command_id, key=key)

    async def send_raw(self, value: bytes, key: str | bytes | None = None,
                       headers: list[tuple[str, bytes]] | None = None) -> None:
        await self.access.send_raw(value, key=key, headers=headers)

    async def wait_results(self, ids: Iterable[str], timeout: float = 30.0) -> list[dict[str, Any]]:
        ids = list(ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for command_id in ids:
            if command_id not in self.results:  # seen already, or awaited by id from now
                await self.access.result(command_id, max(0.0, deadline - loop.time()))
        return [self.results[i] for i in ids]

    async def run(self, type_: str, data: dict[str, Any], actor: uuid.UUID | str,
                  command_id: str | None = None) -> dict[str, Any]:
        sent = await self.send(type_, data, actor, command_id)
        return (await self.wait_results([sent]))[0]

    async def wait_events(self, predicate: Any, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [e for e in self.events if predicate(e)]
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise TimeoutError(f"{len(found)} of {count} events")
            await asyncio.sleep(0.02)
