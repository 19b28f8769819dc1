"""Commands in, results out, the way another service would talk to the access service.

One producer and one result follower for the whole run; each command's future is
resolved with its result and the moment it arrived (monotonic clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from charger_access_client.topics import Topics
from services.common.kafka import ensure_topics


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    sent_at: float
    received_at: float

    @property
    def accepted(self) -> bool:
        return self.result.get("status") == "accepted"

    @property
    def latency(self) -> float:
        return self.received_at - self.sent_at


def _uuid_str(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


class Commands:
    def __init__(self, bootstrap: str, topics: Topics) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                         enable_idempotence=False, linger_ms=2)
        self._pending: dict[str, tuple[asyncio.Future[Outcome], float]] = {}
        self._follower: asyncio.Task[None] | None = None
        self._assigned = asyncio.Event()

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, self.topics.all())
        await self.producer.start()
        self._follower = asyncio.create_task(self._follow())
        await asyncio.wait_for(self._assigned.wait(), 30)

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self.producer.stop()

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(self.topics.command_results, bootstrap_servers=self.bootstrap,
                                    group_id=None, auto_offset_reset="latest",
                                    enable_auto_commit=False, fetch_max_wait_ms=5)
        await consumer.start()
        try:
            # "latest" is resolved lazily: ask for the positions now, before any command.
            for partition in consumer.assignment():
                await consumer.position(partition)
            self._assigned.set()
            while True:
                batches = await consumer.getmany(timeout_ms=100, max_records=2000)
                now = time.monotonic()
                for records in batches.values():
                    for record in records:
                        result = json.loads(record.value)
                        waiting = self._pending.pop(result["command_id"], None)
                        if waiting is not None and not waiting[0].done():
                            waiting[0].set_result(Outcome(result, waiting[1], now))
        finally:
            await consumer.stop()

    async def send(self, type_: str, data: dict[str, Any], actor: uuid.UUID,
                   key: uuid.UUID) -> asyncio.Future[Outcome]:
        """Publish one command (without waiting for the broker's ack); a future of its result."""
        command_id = str(uuid.uuid4())
        envelope = {"specversion": "1.0", "id": command_id, "source": "bench", "type": type_,
                    "actor": str(actor), "data": {k: _uuid_str(v) for k, v in data.items()}}
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        sent_at = time.monotonic()
        self._pending[command_id] = (future, sent_at)
        await self.producer.send(self.topics.commands, json.dumps(envelope).encode(),
                                 key=str(key).encode())
        return future

    async def run(self, type_: str, data: dict[str, Any], actor: uuid.UUID,
                  key: uuid.UUID, within: float = 60.0) -> Outcome:
        future = await self.send(type_, data, actor, key)
        return await asyncio.wait_for(future, within)

    def forget_pending(self) -> int:
        """Drop futures nobody will wait for any more (after a phase ended); how many."""
        count = len(self._pending)
        for future, _ in self._pending.values():
            future.cancel()
        self._pending.clear()
        return count


# --- the command mix -------------------------------------------------------------------


def register_user(user: uuid.UUID) -> tuple[str, dict[str, Any], uuid.UUID, uuid.UUID]:
    data = {"user_id": user, "email": f"u-{user.hex}@bench.example", "name": "Bench User",
            "locale": "en"}
    return "RegisterUser", data, user, user


def register_charger(owner: uuid.UUID,
                     charger: uuid.UUID) -> tuple[str, dict[str, Any], uuid.UUID, uuid.UUID]:
    data = {"charger_id": charger, "serial_number": f"SN-{charger.hex[:20]}",
            "name": "Bench charger"}
    return "RegisterCharger", data, owner, charger


def invite_user(owner: uuid.UUID, charger: uuid.UUID,
                invitation: uuid.UUID) -> tuple[str, dict[str, Any], uuid.UUID, uuid.UUID]:
    data = {"invitation_id": invitation, "email": f"g-{invitation.hex}@bench.example",
            "charger_ids": [str(charger)], "level": "charge"}
    return "InviteUser", data, owner, invitation
