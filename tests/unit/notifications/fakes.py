"""Fakes of the notification service's ports (sent-log, SMTP, dead letters) and helpers
to drive a `Deliverer` with them."""

from __future__ import annotations

import asyncio
import email
import json
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from uuid import UUID

from services.notifications.config import NotificationSettings
from services.notifications.delivery.deliverer import Deliverer
from services.notifications.delivery.sender import Sender
from services.notifications.mail.message import OutgoingEmail
from services.notifications.mail.render import LinkSettings, Renderer
from services.notifications.ports import Claim, DueRow, Finished, Forgotten, QueueDepth
from services.notifications.privacy import Forgetting, RecipientKeys, pseudonymise
from services.notifications.smtp.pool import TransientSmtpError

from .factories import envelope


@dataclass
class Row:
    claim: Claim
    next_at: float
    claimed_at: datetime
    status: str = "pending"
    attempts: int = 0
    error: str | None = None
    handed_over: bool = False


@dataclass
class FakeSentLog:
    """The sent-log's contract in memory, leases included (monotonic clock)."""

    rows: dict[tuple[UUID, str], Row] = field(default_factory=dict)
    links: set[tuple[UUID, str]] = field(default_factory=set)
    tombstones: dict[UUID, Forgetting] = field(default_factory=dict)
    marks_broken: bool = False
    """Hand-over marks fail to be stored (the database went away)."""
    marks_unwritable: bool = False
    """Hand-over marks cannot even be written (their connection broke)."""

    async def claim(
        self,
        claims: Sequence[Claim],
        lease_seconds: float,
        links: Collection[tuple[UUID, str]] = (),
    ) -> set[tuple[UUID, str]]:
        self.links.update(link for link in links if link[0] not in self.tombstones)
        gone = {k for t in self.tombstones.values() for k in t.recipient_keys}
        new = set()
        for c in claims:
            key = (c.event_id, c.recipient)
            if c.recipient in gone or c.user_id in self.tombstones:
                continue
            if key not in self.rows:
                self.rows[key] = Row(c, time.monotonic() + lease_seconds, datetime.now(UTC))
                new.add(key)
        return new

    async def release(self, keys: Collection[tuple[UUID, str]]) -> None:
        for key in keys:
            if self.rows[key].status == "pending":
                self.rows[key].next_at = time.monotonic()

    async def forgotten_among(
        self, user_ids: Collection[UUID], recipients: Collection[str]
    ) -> list[Forgetting]:
        return [
            t
            for t in self.tombstones.values()
            if t.user_id in user_ids or t.recipient_keys & set(recipients)
        ]

    async def forget(self, forgetting: Forgetting) -> Forgotten:
        uid = forgetting.user_id
        theirs = {k for u, k in self.links if u == uid} | {
            r.claim.recipient for r in self.rows.values() if r.claim.user_id == uid
        }
        self.links = {link for link in self.links if link[0] != uid}
        forgetting = replace(forgetting, recipient_keys=forgetting.recipient_keys | theirs)
        self.tombstones[uid] = forgetting
        keys = RecipientKeys(SETTINGS.common.token_secret.get_secret_value())
        closed = dropped = rewritten = 0
        for row in self.rows.values():
            if row.claim.user_id == uid or row.claim.recipient in forgetting.recipient_keys:
                closed += 1
                dropped += row.status == "pending"
                row.status = "forgotten" if row.status == "pending" else row.status
                row.claim = replace(row.claim, envelope="", user_id=uid)
                row.error = None
        for row in self.rows.values():
            if row.claim.envelope:
                forgetting = forgetting.learn(json.loads(row.claim.envelope), keys)
        for row in self.rows.values():
            if row.claim.envelope:
                before = json.loads(row.claim.envelope)
                after = pseudonymise(before, forgetting, keys)
                if after != before:
                    rewritten += 1
                    row.claim = replace(row.claim, envelope=json.dumps(after))
        return Forgotten(closed, dropped, rewritten)

    async def lease_due(self, limit: int, lease_seconds: float) -> list[DueRow]:
        now = time.monotonic()
        due = sorted(
            (
                r
                for r in self.rows.values()
                if r.status == "pending" and r.next_at <= now and not r.handed_over
            ),
            key=lambda r: r.next_at,
        )[:limit]
        for row in due:
            row.next_at = now + lease_seconds
        return [
            DueRow(r.claim.event_id, r.claim.recipient, r.claim.envelope, r.attempts, r.claimed_at)
            for r in due
        ]

    async def finish(self, results: Sequence[Finished]) -> None:
        for result in results:
            row = self.rows[(result.event_id, result.recipient)]
            if row.status != "pending":
                continue
            row.status = "pending" if result.outcome == "retry" else result.outcome
            if row.status != "pending":
                row.claim = replace(row.claim, envelope="")
            row.attempts += int(result.attempted)
            row.error = result.error or row.error
            if result.outcome == "retry":
                row.next_at = time.monotonic() + result.retry_in_seconds
                row.handed_over = False

    async def settle_handed_over(self) -> int:
        now = time.monotonic()
        settled = [
            r
            for r in self.rows.values()
            if r.status == "pending" and r.handed_over and r.next_at <= now
        ]
        for row in settled:
            row.status, row.attempts = "sent", row.attempts + 1
            row.claim = replace(row.claim, envelope="")
        return len(settled)

    def hand_over_marks(self) -> FakeMarks:
        return FakeMarks(self)

    async def depth(self) -> QueueDepth:
        pending = [r for r in self.rows.values() if r.status == "pending"]
        return QueueDepth(len(pending), sum(r.next_at <= time.monotonic() for r in pending))

    def statuses(self) -> list[str]:
        return sorted(r.status for r in self.rows.values())


@dataclass
class FakeMarks:
    """Hand-over marks, stored at once (or failing, when `broken`)."""

    log: FakeSentLog
    closed: bool = False

    async def ready(self) -> None:
        self.closed = False

    def mark(self, event_id: UUID, recipient: str) -> asyncio.Future[None]:
        if self.log.marks_unwritable:
            raise ConnectionError("the marks' connection broke before the write")
        stored = asyncio.get_running_loop().create_future()
        row = self.log.rows[(event_id, recipient)]
        if self.log.marks_broken:
            stored.set_exception(ConnectionError("database away"))
        elif row.status == "pending":
            row.handed_over = True
            stored.set_result(None)
        else:
            stored.set_result(None)
        return stored

    async def close(self) -> None:
        self.closed = True


@dataclass
class FakeMailer:
    failures: list[Exception] = field(default_factory=list)
    sent: list[OutgoingEmail] = field(default_factory=list)
    calls: int = 0
    down: bool = False
    after_hand_over: list[Exception] = field(default_factory=list)
    """Answers to give once the message is handed over (a 451 at the end of DATA)."""
    stall_after_hand_over: asyncio.Event | None = None
    """Wait on this once handed over, before answering: a process about to be killed."""

    async def send(
        self, message: OutgoingEmail, handed_over: Callable[[], None] = lambda: None
    ) -> None:
        self.calls += 1
        await asyncio.sleep(0)
        if self.down:
            raise TransientSmtpError("ConnectionRefusedError: down")
        if self.failures:
            raise self.failures.pop(0)
        handed_over()
        if self.stall_after_hand_over is not None:
            self.sent.append(message)  # the server has it
            await self.stall_after_hand_over.wait()
            return
        if self.after_hand_over:
            raise self.after_hand_over.pop(0)
        self.sent.append(message)

    def parsed(self) -> list[Message]:
        return [email.message_from_bytes(m.data) for m in self.sent]


@dataclass
class FakeDeadLetters:
    records: list[dict[str, Any]] = field(default_factory=list)
    broken: bool = False

    async def publish(self, record: dict[str, Any], key: str) -> None:
        if self.broken:
            raise ConnectionError("broker away")
        self.records.append(record)


SETTINGS = NotificationSettings(
    retry_initial_seconds=0.001,
    retry_max_seconds=0.004,
    retry_poll_seconds=0.001,
    lease_seconds=60.0,
)


def make(
    mailer: FakeMailer | None = None,
    settings: NotificationSettings = SETTINGS,
    sent_log: FakeSentLog | None = None,
) -> tuple[Deliverer, FakeSentLog, FakeMailer, FakeDeadLetters]:
    """A deliverer over fakes; pass `sent_log` to start a second process on the same one."""
    log, mail, dlq = sent_log or FakeSentLog(), mailer or FakeMailer(), FakeDeadLetters()
    renderer = Renderer(LinkSettings("https://app.example", b"k"))
    sender = Sender(settings, renderer, log, mail, dlq)
    return Deliverer(settings, log, sender), log, mail, dlq


def raw(event: Any) -> bytes:
    return envelope(event).model_dump_json().encode()


async def handle(deliverer: Deliverer, values: list[bytes | None]) -> None:
    await deliverer.handle_batch(values)
    await deliverer.drain()


async def retry_until_idle(deliverer: Deliverer, seconds: float = 5.0) -> None:
    """Run the retry loop until the queue is empty."""
    deadline = time.monotonic() + seconds
    while (await deliverer.sent_log.depth()).pending:
        assert time.monotonic() < deadline, "the queue did not drain"
        await deliverer.retry_once()
        await asyncio.sleep(0.002)
