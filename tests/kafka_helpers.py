"""Talking to the real broker from tests: publish commands, collect results and events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from charger_access_client.topics import Topics


def envelope(type_: str, data: dict[str, Any], actor: uuid.UUID | str,
             command_id: str | None = None) -> dict[str, Any]:
    return {"specversion": "1.0", "id": command_id or str(uuid.uuid4()), "source": "tests",
            "type": type_, "actor": str(actor), "data": data}


class CommandClient:
    """Publishes commands and reads their results, as another service would."""

    def __init__(self, bootstrap: str, topics: Topics,
                 options: dict[str, Any] | None = None) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.options = options or {}  # security: KafkaSecurity.client_options()
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                         enable_idempotence=False, linger_ms=1, **self.options)
        self.results: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.dead_letters: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.producer.start()
        self._tasks.append(asyncio.create_task(self._follow(self.topics.command_results, self._on_result)))
        self._tasks.append(asyncio.create_task(self._follow(self.topics.events, self._on_event)))
        self._tasks.append(asyncio.create_task(self._follow(self.topics.commands_dlq, self.dead_letters.append)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.producer.stop()

    def _on_result(self, record: Any) -> None:
        result = json.loads(record.value)
        self.results.setdefault(result["command_id"], result)
        self.results.setdefault(f"{result['command_id']}#all", []).append(result)  # type: ignore[arg-type]

    def _on_event(self, record: Any) -> None:
        self.events.append(json.loads(record.value))

    async def _follow(self, topic: str, sink: Any) -> None:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.bootstrap, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    **self.options)
        await consumer.start()
        try:
            async for record in consumer:
                sink(record)
        finally:
            await consumer.stop()

    async def send(self, type_: str, data: dict[str, Any], actor: uuid.UUID | str,
                   command_id: str | None = None, key: str | None = None) -> str:
        message = envelope(type_, data, actor, command_id)
        await self.send_raw(json.dumps(message).encode(), key=key or message["id"])
        return str(message["id"])

    async def send_raw(self, value: bytes, key: str | None = None,
                       headers: list[tuple[str, bytes]] | None = None) -> None:
        await self.producer.send_and_wait(self.topics.commands, value,
                                          key=key.encode() if key else None, headers=headers)

    async def wait_results(self, ids: Iterable[str], timeout: float = 30.0) -> list[dict[str, Any]]:
        ids = list(ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(i not in self.results for i in ids):
            if loop.time() > deadline:
                missing = [i for i in ids if i not in self.results]
                raise TimeoutError(f"no result for {missing}")
            await asyncio.sleep(0.02)
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
