"""Commands in, everything out: a steady command load, and a follower that keeps every
result, event and dead letter it sees on the wire (copies included, by id).

The load is made of *units*, each three commands keyed by one owner (so they stay in
order on one partition): RegisterUser(owner) → RegisterCharger(owner) → InviteUser(a
new guest address on that charger). Every command must be accepted, and each unit causes
exactly one e-mail. A command counts as sent once the broker acknowledged it; one whose
send failed (broker down) is sent again with the same id, as a real client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from charger_access_client.client import command_envelope
from charger_access_client.topics import Topics
from services.common.kafka import ensure_topics
from services.common.timeouts import wait_for

log = logging.getLogger(__name__)


@dataclass
class Sent:
    type: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] | None = None
    first_sent: float = 0.0
    """time.time() of the first attempt."""
    acked: bool = False
    attempts: int = 0
    expect: str | None = "accepted"


@dataclass
class Wire:
    """Everything seen on the output topics, copies kept (raw values, by id)."""

    results: dict[str, list[bytes]] = field(default_factory=dict)
    result_times: list[float] = field(default_factory=list)
    first_result: dict[str, int] = field(default_factory=dict)
    """Per command id, the arrival number of its first result (the order the system
    answered in, across partitions as this follower saw it)."""
    """Producer timestamps (time.time()) of every result record, in arrival order."""
    events: dict[str, list[bytes]] = field(default_factory=dict)
    dead_letters: list[tuple[bytes | None, bytes | None, dict[str, bytes]]] = field(
        default_factory=list)
    """(key, value, headers) of every record on the DLQ."""


def envelope(type_: str, data: dict[str, Any], actor: uuid.UUID | str,
             command_id: str | None = None) -> dict[str, Any]:
    return command_envelope(type_, data, actor, command_id=command_id, source="faults")


class Traffic:
    def __init__(self, bootstrap: str, topics: Topics, send_timeout: float = 15.0) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.send_timeout = send_timeout
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                         enable_idempotence=False, linger_ms=2,
                                         request_timeout_ms=int(send_timeout * 1000),
                                         max_request_size=4 * 1024 * 1024)
        self.sent: dict[str, Sent] = {}
        self.wire = Wire()
        self._tasks: list[asyncio.Task[None]] = []
        self._acks: set[asyncio.Task[None]] = set()
        self.send_failures = 0

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, self.topics.all())
        await self.producer.start()
        self._tasks.append(asyncio.create_task(self._follow(), name="follow"))

    async def stop(self) -> None:
        for task in [*self._tasks, *self._acks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._acks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await wait_for(self.producer.stop(), 15)

    # --- out ----------------------------------------------------------------------------

    async def refollow(self) -> None:
        """Follow the topics again from their beginning (after the broker restarted empty:
        a follower that kept its old offsets would skip that many records of the new
        topics). Copies already seen are kept; seen again, they count as redeliveries."""
        follower = self._tasks.pop(0)
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        self._tasks.insert(0, asyncio.create_task(self._follow(), name="follow"))

    async def _follow(self) -> None:
        topics = [self.topics.command_results, self.topics.events, self.topics.commands_dlq]
        while True:
            consumer = AIOKafkaConsumer(*topics, bootstrap_servers=self.bootstrap, group_id=None,
                                        auto_offset_reset="earliest", enable_auto_commit=False,
                                        fetch_max_wait_ms=50, metadata_max_age_ms=2000,
                                        max_partition_fetch_bytes=4 * 1024 * 1024)
            try:
                await consumer.start()
                while True:
                    batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                    for records in batches.values():
                        for record in records:
                            self._on(record)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker went away: follow it again when it is back
                log.warning("follower restarting: %r", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await wait_for(consumer.stop(), 5)

    def _on(self, record: Any) -> None:
        value: bytes = record.value or b""
        if record.topic == self.topics.command_results:
            command_id = str(json.loads(value)["command_id"])
            self.wire.results.setdefault(command_id, []).append(value)
            self.wire.first_result.setdefault(command_id, len(self.wire.first_result))
            self.wire.result_times.append(record.timestamp / 1000)
        elif record.topic == self.topics.events:
            event_id = str(json.loads(value)["id"])
            self.wire.events.setdefault(event_id, []).append(value)
        else:
            self.wire.dead_letters.append((record.key, record.value, dict(record.headers or ())))

    # --- in -----------------------------------------------------------------------------

    async def send_raw(self, command_id: str, type_: str, key: bytes, value: bytes,
                       headers: list[tuple[str, bytes]] | None = None,
                       expect: str | None = "accepted") -> None:
        """Hand one command to the producer; its ack (or a resend) is followed in the back."""
        sent = Sent(type_, key, value, headers, time.time(), expect=expect)
        self.sent[command_id] = sent
        await self._attempt(sent)

    async def send(self, type_: str, data: dict[str, Any], actor: uuid.UUID | str, key: str,
                   expect: str | None = "accepted") -> str:
        message = envelope(type_, data, actor)
        await self.send_raw(message["id"], type_, key.encode(), json.dumps(message).encode(),
                            expect=expect)
        return str(message["id"])

    async def _attempt(self, sent: Sent) -> None:
        sent.attempts += 1
        try:
            future = await wait_for(
                self.producer.send(self.topics.commands, sent.value, key=sent.key,
                                   headers=sent.headers), self.send_timeout)
        except Exception:
            self.send_failures += 1
            self._watch(asyncio.sleep(0), sent, failed=True)
            return
        self._watch(future, sent)

    def _watch(self, future: Any, sent: Sent, failed: bool = False) -> None:
        async def wait() -> None:
            try:
                if failed:
                    raise RuntimeError("send failed")
                await future
                sent.acked = True
            except Exception:
                self.send_failures += 1
                if sent.attempts < 20:
                    await asyncio.sleep(1)
                    await self._attempt(sent)

        task = asyncio.create_task(wait())
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def flush(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while self._acks and time.monotonic() < deadline:  # noqa: ASYNC110 - acks come and go
            await asyncio.sleep(0.05)

    async def resend_unanswered(self, older_than: float = 10.0) -> int:
        """Send again, same id, every acked command without a result for `older_than` s
        (what a client does after a broker lost its messages); returns how many."""
        now = time.time()
        again = [s for cid, s in self.sent.items()
                 if cid not in self.wire.results and s.acked and now - s.first_sent > older_than]
        for sent in again:
            sent.acked = False
            await self._attempt(sent)
        return len(again)

    # --- questions ------------------------------------------------------------------------

    def units(self) -> dict[bytes, list[str]]:
        """Command ids per key (one unit's commands share its owner's key), in send order."""
        found: dict[bytes, list[str]] = {}
        for command_id, sent in self.sent.items():
            found.setdefault(sent.key, []).append(command_id)
        return found

    def acked_ids(self) -> list[str]:
        return [cid for cid, s in self.sent.items() if s.acked]

    def unanswered(self) -> list[str]:
        return [cid for cid in self.acked_ids() if cid not in self.wire.results]

    def first_result_after(self, moment: float) -> float | None:
        """Seconds from `moment` (time.time()) to the first result produced after it."""
        later = [t for t in self.wire.result_times if t > moment]
        return min(later) - moment if later else None


class Load:
    """Units at a steady rate, bounded in time and count."""

    def __init__(self, traffic: Traffic, units_per_second: float = 40.0) -> None:
        self.traffic = traffic
        self.rate = units_per_second
        self.units = 0

    async def run(self, seconds: float, max_units: int = 100_000,
                  stop: asyncio.Event | None = None) -> None:
        started = time.monotonic()
        while self.units < max_units and time.monotonic() - started < seconds:
            if stop is not None and stop.is_set():
                return
            await self.unit()
            due = started + self.units / self.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def unit(self) -> None:
        owner, charger, invitation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        key = str(owner)
        t = self.traffic
        await t.send("RegisterUser", {"user_id": str(owner), "name": "Fault Owner",
                                      "email": f"o-{owner.hex}@faults.example"}, owner, key)
        await t.send("RegisterCharger", {"charger_id": str(charger),
                                         "serial_number": f"FT-{charger.hex[:20]}"}, owner, key)
        await t.send("InviteUser", {"invitation_id": str(invitation),
                                    "email": f"g-{invitation.hex}@faults.example",
                                    "charger_ids": [str(charger)]}, owner, key)
        self.units += 1
